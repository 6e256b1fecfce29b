"""`deployer deploy --config deploy.yaml --environment E` (a version-2 deploy.yaml: an
environment and its services) end to end against LocalStack's asynchronous
CloudFormation: a service stack that fails after the environment succeeded is explained
per stack and a re-run recovers it; a release plan is applied environment first, and a
stale one is refused before anything runs.

The templates are small stand-ins (fixtures/release/) that follow the wiring rule, since
LocalStack's community edition has no ELBv2, ECS, Cognito or ACM.

Every test creates its environment stack itself (boto3) before the first release, so that
the release finds it and plans the services through change sets. Applying a release
checks that each new image is in its repository; LocalStack's community edition has no
ECR, so the images are put into a real docker-registry and the deployer gets
`--registry` (as `make local` does).
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from conftest import REGION, events, resource_events, settled, stack_of

FIXTURES = Path(__file__).parent / "fixtures" / "release"
ENVIRONMENT = "staging"
DOMAIN = "staging.example.com"
ZONE = "Z0123456789ABC"
BOUNDARY = "arn:aws:iam::000000000000:policy/deployer-boundary"
REGISTRY = ["--registry", os.environ.get("REGISTRY_URL", "")]


def application() -> str:
    """An application name no other test (or earlier run) uses: `[a-z][a-z0-9-]{0,23}`."""
    return f"rel{uuid.uuid4().hex[:8]}"


def write_config(directory: Path, app: str, *, docs_health: str = "/healthz", nat: int = 1) -> Path:
    """deploy.yaml of `app`: one environment, services `docs` (public, on a path) and
    `web` (behind login); `docs_health: /broken` makes the docs stack fail."""
    text = f"""\
version: 2
application: {app}
templates:
  environment: {FIXTURES / "environment.yaml"}
  service: {FIXTURES / "service.yaml"}
environments:
  {ENVIRONMENT}:
    region: {REGION}
    domain: {DOMAIN}
    hosted_zone_id: {ZONE}
    cognito_domain_prefix: {app}-login
    permissions_boundary_arn: {BOUNDARY}
    nat_gateways: {nat}
    approval: false
    wait_timeout: 2m
services:
  docs:
    image: {{ context: . }}
    port: 8080
    health_path: {docs_health}
    host: app
    path: /docs
    login: none
    cpu: 256
    memory: 512
    scaling: {{ min: 1, max: 1 }}
  web:
    image: {{ context: . }}
    port: 8080
    health_path: /healthz
    host: app
    login: cognito
    cpu: 256
    memory: 512
    scaling: {{ min: 1, max: 2 }}
"""
    path = directory / "deploy.yaml"
    path.write_text(text)
    return path


def put_image(repository: str) -> str:
    """Puts a one-blob OCI image into the local registry (REGISTRY_URL, a real
    docker-registry that scripts/checks/32-cfn-localstack.sh starts) under `repository`,
    and returns its manifest's digest. LocalStack's community edition has no ECR, and
    applying a release checks each new image is in its repository: with `--registry`
    the deployer looks there instead."""
    registry = os.environ["REGISTRY_URL"]
    config = b"{}"
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    upload = urllib.request.Request(f"{registry}/v2/{repository}/blobs/uploads/", method="POST")
    with urllib.request.urlopen(upload) as answer:
        location = urllib.parse.urljoin(registry, answer.headers["Location"])
    sep = "&" if "?" in location else "?"
    put = urllib.request.Request(f"{location}{sep}digest={config_digest}", data=config, method="PUT")
    put.add_header("Content-Type", "application/octet-stream")
    urllib.request.urlopen(put).close()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": config_digest},
            "layers": [],
        }
    ).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    put = urllib.request.Request(f"{registry}/v2/{repository}/manifests/{digest}", data=manifest, method="PUT")
    put.add_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
    urllib.request.urlopen(put).close()
    return digest


def images(app: str) -> list[str]:
    """`--image SERVICE=URI` for both services (digest-pinned: used as is), each put
    into the local registry first, and `--registry` so the deployer looks them up there."""
    args: list[str] = ["--registry", os.environ["REGISTRY_URL"]]
    for service in ("docs", "web"):
        digest = put_image(f"{app}-{service}")
        args += ["--image", f"{service}=000000000000.dkr.ecr.{REGION}.amazonaws.com/{app}-{service}@{digest}"]
    return args


def create_environment(cfn: Any, app: str) -> str:
    """The environment stack as an earlier release left it (2 NAT gateways, where the
    release's deploy.yaml says 1: the release updates it). Returns its name."""
    name = f"{app}-{ENVIRONMENT}"
    cfn.create_stack(
        StackName=name,
        TemplateBody=(FIXTURES / "environment.yaml").read_text(),
        Parameters=[
            {"ParameterKey": "HostedZoneId", "ParameterValue": ZONE},
            {"ParameterKey": "DomainName", "ParameterValue": DOMAIN},
            {"ParameterKey": "CognitoDomainPrefix", "ParameterValue": f"{app}-login"},
            {"ParameterKey": "NatGateways", "ParameterValue": "2"},
        ],
    )
    assert settled(cfn, name)["StackStatus"] == "CREATE_COMPLETE"
    return name


def results(report: dict[str, Any]) -> dict[str, str]:
    """Stack name → result in a release report."""
    return {s["stack_name"]: s["result"] for s in report["stacks"]}


def test_a_service_that_fails_after_the_environment_is_explained_and_a_re_run_recovers(
    cfn: Any, deployer: Any, tmp_path: Path
) -> None:
    app = application()
    env_stack = create_environment(cfn, app)
    docs, web = f"{app}-{ENVIRONMENT}-docs", f"{app}-{ENVIRONMENT}-web"
    broken = write_config(tmp_path, app, docs_health="/broken")
    release = ["deploy", "--config", str(broken), "--environment", ENVIRONMENT, "--yes", "--output", "json"]

    failed = deployer(*release, *images(app))

    assert failed.returncode == 1, failed.stderr
    report = json.loads(failed.stdout)
    assert results(report) == {env_stack: "deployed", docs: "failed", web: "deployed"}, failed.stderr
    # The environment really was updated, and the other service finished.
    assert settled(cfn, env_stack)["StackStatus"] == "UPDATE_COMPLETE"
    assert settled(cfn, web)["StackStatus"] == "CREATE_COMPLETE"
    dead = settled(cfn, docs)
    assert dead["StackStatus"] == "ROLLBACK_COMPLETE", dead
    assert any(
        status == "CREATE_FAILED" and "InvalidBucketName" in reason
        for status, reason in resource_events(cfn, dead["StackId"], "Bucket")
    ), events(cfn, dead["StackId"])
    # Explained per stack: which service, that the environment had succeeded, and the
    # failing resource's own reason.
    docs_result = next(s for s in report["stacks"] if s["stack_name"] == docs)
    cause = docs_result.get("root_cause") or ""
    assert "Bucket" in cause and "InvalidBucketName" in cause, docs_result
    assert f"service docs (stack {docs}), after the environment succeeded, failed" in failed.stderr
    assert "InvalidBucketName" in failed.stderr, failed.stderr
    assert f"service web (stack {web})" not in failed.stderr, failed.stderr
    assert "Release of" in report["verdict"] and "1 of 3 stack(s) did not deploy" in report["verdict"], report

    # The cause fixed, the same command again: only the failed stack still differs, and
    # its dead first create (ROLLBACK_COMPLETE) is deleted and created again.
    fixed = write_config(tmp_path, app)
    again = deployer(
        "deploy", "--config", str(fixed), "--environment", ENVIRONMENT, "--yes", "--output", "json", *REGISTRY
    )

    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert results(report) == {env_stack: "no-changes", docs: "deployed", web: "no-changes"}, again.stderr
    for name in (env_stack, docs, web):
        status = settled(cfn, name)["StackStatus"]
        assert status.endswith("_COMPLETE") and "ROLLBACK" not in status, (name, status)
    recreated = settled(cfn, docs)
    assert recreated["StackStatus"] == "CREATE_COMPLETE"
    assert recreated["StackId"] != dead["StackId"], "the dead stack was not replaced"
    assert cfn.describe_stacks(StackName=dead["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    # Without --image the re-run kept each service's image (the dead stack's for docs).
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in recreated["Parameters"]}
    assert f"{app}-docs@sha256:" in parameters["ImageUri"], parameters
    assert parameters["HealthCheckPath"] == "/healthz"
    assert parameters["ClusterName"], parameters


def test_a_release_plan_applies_the_environment_first_and_a_stale_one_is_refused(
    cfn: Any, deployer: Any, tmp_path: Path
) -> None:
    app = application()
    env_stack = create_environment(cfn, app)
    stacks = [env_stack, f"{app}-{ENVIRONMENT}-docs", f"{app}-{ENVIRONMENT}-web"]
    config = str(write_config(tmp_path, app))
    plan = tmp_path / "release.json"

    planned = deployer(
        "deploy",
        "--config",
        config,
        "--environment",
        ENVIRONMENT,
        "--plan-out",
        str(plan),
        "--detailed-exitcode",
        *images(app),
    )

    assert planned.returncode == 2, planned.stderr
    doc = json.loads(plan.read_text())
    assert [s["plan"]["stack_name"] for s in doc["stacks"]] == stacks
    # Nothing ran: the services are only change sets on REVIEW_IN_PROGRESS stacks.
    assert settled(cfn, env_stack)["StackStatus"] == "CREATE_COMPLETE"
    for name in stacks[1:]:
        assert stack_of(cfn, name)["StackStatus"] == "REVIEW_IN_PROGRESS"

    applied = deployer("apply", str(plan), "--output", "json", *REGISTRY)

    assert applied.returncode == 0, applied.stderr
    assert set(results(json.loads(applied.stdout)).values()) == {"deployed"}, applied.stdout
    env_id = settled(cfn, env_stack)["StackId"]
    env_done = max(
        e["Timestamp"]
        for e in events(cfn, env_id)
        if e["LogicalResourceId"] == env_stack and e["ResourceStatus"] == "UPDATE_COMPLETE"
    )
    for name in stacks[1:]:
        stack = settled(cfn, name)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        # The first resource of a service started after the environment had finished.
        started = min(e["Timestamp"] for e in events(cfn, stack["StackId"]) if e["LogicalResourceId"] != name)
        assert started >= env_done, f"{name} started before the environment finished"

    # Two plans of one environment change; applying the second makes the first stale.
    moved = tmp_path / "moved"
    moved.mkdir()
    changed = str(write_config(moved, app, nat=2))
    stale, fresh = tmp_path / "stale.json", tmp_path / "fresh.json"
    for out in (stale, fresh):
        made = deployer("deploy", "--config", changed, "--environment", ENVIRONMENT, "--plan-out", str(out))
        assert made.returncode == 0, made.stderr
    assert deployer("apply", str(fresh), *REGISTRY).returncode == 0
    before = len(events(cfn, env_id))

    refused = deployer("apply", str(stale), "--output", "json", *REGISTRY)

    assert refused.returncode == 1, refused.stderr
    assert "nothing was executed" in refused.stderr, refused.stderr
    assert f"{env_stack}: " in refused.stderr, refused.stderr
    assert results(json.loads(refused.stdout))[env_stack] == "refused", refused.stdout
    assert len(events(cfn, env_id)) == before, "the stale plan ran"
    assert stack_of(cfn, env_stack)["StackStatus"] == "UPDATE_COMPLETE"
