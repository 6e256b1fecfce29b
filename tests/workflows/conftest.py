"""Fixtures for the act scenarios: one local AWS, registry, fake GitHub API and scenario
repository per test session, shared by the scenarios in order (a push creates staging's
and production's stacks, which the next pushes, rollbacks and previews change).

The scenario repository's deploy.yaml is the project's with one service (the first,
`web`): a scenario adds the second by a deploy.yaml change, as a team would."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from act_harness import REPOSITORY, ROOT, ActRun, ScenarioRepo, run_act  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from services import moto, registry  # noqa: E402

ACCOUNT = "123456789012"
# deploy.yaml's environments; `preview` (with `previews:`) hosts the pull requests' previews.
ENVIRONMENTS = ("staging", "production", "preview")
# One bootstrap stack per environment (deployer bootstrap --environment E): its roles.
DEPLOY_ROLE = {e: f"arn:aws:iam::{ACCOUNT}:role/github-deploy-{e}-deploy" for e in ENVIRONMENTS}
PLAN_ROLE = {e: f"arn:aws:iam::{ACCOUNT}:role/github-deploy-{e}-plan" for e in ENVIRONMENTS}
CFN_ROLE = {e: f"arn:aws:iam::{ACCOUNT}:role/github-deploy-{e}-cloudformation" for e in ENVIRONMENTS}
# Staging's dry-run change sets for pull requests (AWS_PREVIEW_ROLE_ARN).
PREVIEW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/github-deploy-preview"
# The preview environment's second bootstrap stack's PullRequestRole (AWS_PULL_REQUEST_ROLE_ARN):
# pr.yml's preview jobs and preview-prune.yml.
PULL_REQUEST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/github-deploy-preview-pull-requests-role"
# Its service role, the only one preview stacks are created with (CFN_PULL_REQUEST_ROLE_ARN).
CFN_PULL_REQUEST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/github-deploy-preview-pull-requests-cloudformation"
TOKEN = "act-scenario-token"
# The cheap test group the scenarios run (see scripts/checks/45-workflows-act.sh).
TEST_GROUP = "group:40-workflows"


@dataclass
class World:
    workdir: Path
    repo: ScenarioRepo
    aws_url: str
    registry_url: str
    github: FakeGitHub
    application: str
    variables: dict[str, str]
    env: dict[str, str]
    # The digest of the working tree's image (the stand-in's cache holds it before any run).
    seeded_image_digest: str
    runs: dict[str, ActRun] = field(default_factory=dict)
    # Image URIs the scenarios name (first and second push), for the rollbacks after them.
    digests: dict[str, str] = field(default_factory=dict)
    # The preview environment's resources before the first pull request's preview.
    preview_baseline: dict[str, set] = field(default_factory=dict)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name=self.variables["AWS_REGION"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def cfn(self):
        return self.client("cloudformation")

    def live_stacks(self, prefix: str) -> list[str]:
        """Names of the stacks starting with prefix that are not deleted."""
        return sorted(
            s["StackName"]
            for page in self.cfn().get_paginator("list_stacks").paginate()
            for s in page["StackSummaries"]
            if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE"
        )

    def deployment_mode(self, stack_name: str) -> str | None:
        """The stack's DeploymentConfig Mode as DescribeStacks returns it (the moto
        launcher records it; the .venv's botocore model predates the field, so boto3 would
        drop it: read from the raw answer)."""
        body = urllib.parse.urlencode({"Action": "DescribeStacks", "StackName": stack_name, "Version": "2010-05-15"})
        auth = "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/cloudformation/aws4_request, Signature=x"
        request = urllib.request.Request(self.aws_url, data=body.encode(), headers={"Authorization": auth})
        with urllib.request.urlopen(request) as r:
            found = re.search(r"<DeploymentConfig>\s*<Mode>(\w+)</Mode>", r.read().decode())
        return found and found.group(1)

    def resources(self, stack_name: str) -> dict[str, str]:
        """Resource type -> physical id of a stack's resources (ListStackResources: moto's
        DescribeStackResource(s) fail on a stack with resources conditioned out)."""
        summaries = self.cfn().list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
        return {r["ResourceType"]: r["PhysicalResourceId"] for r in summaries if r.get("ResourceType")}

    def outputs(self, environment: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stack(environment).get("Outputs") or []}

    def preview_resources(self) -> dict[str, set]:
        """What a pull-request preview adds to the preview environment, resource by
        resource: its stacks, user pool clients, listener rules, Route 53 records, ECS
        services and target groups (every one of the account, so none hides)."""
        out = self.outputs("preview")
        cognito, elbv2, ecs = self.client("cognito-idp"), self.client("elbv2"), self.client("ecs")
        clients = cognito.list_user_pool_clients(UserPoolId=out["UserPoolId"], MaxResults=60)["UserPoolClients"]
        rules = elbv2.describe_rules(ListenerArn=out["HttpsListenerArn"])["Rules"]
        records = self.client("route53").list_resource_record_sets(HostedZoneId=self.variables["HOSTED_ZONE_ID"])
        arns = ecs.list_services(cluster=out["ClusterName"])["serviceArns"]
        services = ecs.describe_services(cluster=out["ClusterName"], services=arns)["services"] if arns else []
        return {
            "stacks": set(self.live_stacks(f"{self.application}-preview-pr-")),
            "user pool clients": {c["ClientId"] for c in clients},
            "listener rules": {r["RuleArn"] for r in rules if not r.get("IsDefault")},
            "Route 53 records": {(r["Name"], r["Type"]) for r in records["ResourceRecordSets"]},
            "ECS services": {s["serviceName"] for s in services if s.get("status") != "INACTIVE"},
            "target groups": {t["TargetGroupArn"] for t in elbv2.describe_target_groups()["TargetGroups"]},
        }

    def stack_name(self, environment: str, service: str | None = None) -> str:
        """`{application}-{environment}[-{service}]` (the stack names of deploy.yaml version 2)."""
        return "-".join(filter(None, (self.application, environment, service)))

    def stack(self, environment: str, service: str | None = None) -> dict | None:
        name = self.stack_name(environment, service)
        live = [
            s
            for s in self.cfn().list_stacks()["StackSummaries"]
            if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"
        ]
        return self.cfn().describe_stacks(StackName=name)["Stacks"][0] if live else None

    def parameters(self, environment: str, service: str) -> dict[str, str]:
        return {p["ParameterKey"]: p["ParameterValue"] for p in self.stack(environment, service)["Parameters"]}

    def image_uri(self, environment: str, service: str = "web") -> str:
        return self.parameters(environment, service)["ImageUri"]

    def tags(self, environment: str, service: str | None = None) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.stack(environment, service).get("Tags") or []}

    def change_sets(self, environment: str, service: str | None = None) -> list[dict]:
        """Change sets left on the stack that were never executed (an executed one stays listed)."""
        if self.stack(environment, service) is None:
            return []
        summaries = self.cfn().list_change_sets(StackName=self.stack_name(environment, service))["Summaries"]
        return [c for c in summaries if c.get("ExecutionStatus") != "EXECUTE_COMPLETE"]

    def all_change_sets(self) -> list[dict]:
        """Unexecuted change sets on every stack of the application, previews' included."""
        previews = [
            name.removeprefix(f"{self.application}-preview-")
            for name in self.live_stacks(f"{self.application}-preview-pr-")
        ]
        return [
            c
            for env in ENVIRONMENTS
            for svc in (None, *self.services(), *(previews if env == "preview" else ()))
            for c in self.change_sets(env, svc)
        ]

    def services(self) -> list[str]:
        return sorted(yaml.safe_load((self.repo.path / "deploy.yaml").read_text())["services"])

    def executed_change_sets(self, environment: str, service: str | None = None) -> int:
        """How many change sets the stack has completed: its own CREATE_COMPLETE and
        UPDATE_COMPLETE events. (Not the EXECUTE_COMPLETE change sets: executing one deletes
        the stack's others, as CloudFormation does, so they do not stay to be counted.)"""
        if self.stack(environment, service) is None:
            return 0
        name = self.stack_name(environment, service)
        events = [
            e
            for page in self.cfn().get_paginator("describe_stack_events").paginate(StackName=name)
            for e in page["StackEvents"]
        ]
        return sum(
            e["LogicalResourceId"] == name and e["ResourceStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
            for e in events
        )

    def create_change_set_calls(self) -> list[dict[str, str]]:
        """Parameters of every CreateChangeSet request moto received (its request recorder),
        for what moto stores but never returns, e.g. RoleARN."""
        return self.calls("CreateChangeSet")

    def calls(self, action: str) -> list[dict[str, str]]:
        """Parameters of every CloudFormation (query API) request `action` moto received."""
        with urllib.request.urlopen(f"{self.aws_url}/moto-api/recorder/download-recording") as r:
            lines = r.read().decode().splitlines()
        calls = []
        for line in filter(None, lines):
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            params = dict(urllib.parse.parse_qsl(body))
            if params.get("Action") == action:
                calls.append(params)
        return calls

    def act(
        self,
        name: str,
        event: str,
        workflow: str = "deploy.yml",
        variables: dict | None = None,
        env: dict | None = None,
        **kwargs,
    ) -> ActRun:
        run = run_act(
            self.repo,
            event,
            self.workdir / "runs" / name,
            workflow=workflow,
            variables=self.variables if variables is None else variables,
            env={**self.env, **(env or {})},
            matrix=TEST_GROUP,
            secrets={"GITHUB_TOKEN": TOKEN},
            **kwargs,
        )
        self.runs[name] = run
        return run


def build_tools() -> tuple[Path, Path]:
    """The deployer the scenarios hand to the workflow and the xtask the image stand-in
    packages with, built once from the working tree.

    The debug build `make test` already has (scripts/local.sh and the Rust tests build
    it), not the release build the workflow's build-deployer job makes on a cache miss:
    same sources and behaviour, without 5+ CPU-minutes of LTO on a cold target dir.
    """
    # Exactly scripts/lib.sh's lib_build_bins, the command of every other check and of
    # scripts/local.sh, in the same target dir: whichever runs first compiles, the others
    # find it built (another package set would resolve other features and compile again).
    subprocess.run(["cargo", "build", "--locked", "--workspace", "--bins"], cwd=ROOT, check=True)
    given = os.environ.get("ACT_TEST_DEPLOYER")  # another build of this tree, e.g. target/release/deployer
    deployer = Path(given).resolve(strict=True) if given else ROOT / "target/debug/deployer"
    return deployer, ROOT / "target/debug/xtask"


def seed_image_cache(workdir: Path, env: dict[str, str]) -> str:
    """Runs the image stand-in once on the working tree itself, before any act run.

    It leaves the image of the app under test in the stand-in's cache, as the buildx layer
    cache of an earlier CI run on the same sources would: the first push then builds
    nothing, and a scenario that changes the app really compiles it. Built in the
    project's own directory and target/ with scripts/local.sh's command, so after check
    60-local-run this compiles nothing. Returns the image's digest."""
    outputs = workdir / "seed-outputs"
    subprocess.run(
        ["bash", str(ROOT / "tests/workflows/image-standin/build.sh")],
        cwd=ROOT,
        check=True,
        env={
            **os.environ,
            **env,
            "CONTEXT": ".",
            "DOCKERFILE": "service/Dockerfile",
            "OUTPUTS": f"type=oci,dest={workdir / 'seed-image.tar'}",
            "STANDIN_RECORD_DIR": str(workdir / "seed-records"),
            "STANDIN_OWN_CHECKOUT": "1",
            "GITHUB_OUTPUT": str(outputs),
        },
    )
    return outputs.read_text().split("digest=")[1].strip()


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("act")
    deployer, xtask = build_tools()
    repo = ScenarioRepo.create(workdir / "repo", workdir / "deps-stamps")
    # What the cargo stand-in (tests/workflows/bin/cargo) hands the build-deployer job
    # while its checkout holds these deployer sources: the deployer built above (a copy,
    # so a later cargo build in the project cannot change it under a running scenario).
    key = subprocess.run(
        ["bash", str(ROOT / "tests/workflows/deployer-sources-key.sh")],
        cwd=repo.path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (workdir / "bin").mkdir()
    shutil.copy2(deployer, workdir / "bin/deployer")
    image_env = {
        "STANDIN_IMAGE_CACHE_DIR": str(workdir / "image-cache"),
        # Where the image stand-in compiles: the project's own target dir, where
        # scripts/local.sh (check 60-local-run) builds the same static service the same way.
        "STANDIN_CARGO_TARGET_DIR": str(ROOT / "target"),
        "STANDIN_XTASK": str(xtask),
    }
    image_digest = seed_image_cache(workdir, image_env)
    with (
        moto(workdir / "moto.log", record=True) as aws_url,
        registry(workdir) as registry_url,
        FakeGitHub(TOKEN) as github,
    ):
        urllib.request.urlopen(
            urllib.request.Request(f"{aws_url}/moto-api/recorder/start-recording", method="POST")
        ).close()
        r53 = boto3.client(
            "route53",
            endpoint_url=aws_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        # deploy.yaml's domains (staging.example.com, example.com, preview.example.com) are in this zone.
        zone = r53.create_hosted_zone(Name="example.com", CallerReference="act-scenarios")
        iam = boto3.client(
            "iam",
            endpoint_url=aws_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        variables = {
            "AWS_REGION": "us-east-1",
            "AWS_PREVIEW_ROLE_ARN": PREVIEW_ROLE,
            "AWS_PULL_REQUEST_ROLE_ARN": PULL_REQUEST_ROLE,
            "CFN_PULL_REQUEST_ROLE_ARN": CFN_PULL_REQUEST_ROLE,
            "HOSTED_ZONE_ID": zone["HostedZone"]["Id"].split("/")[-1],
        }
        for environment in ENVIRONMENTS:
            # The permissions boundary each environment's bootstrap stack makes, which
            # cfn/service.yaml attaches to the roles it creates.
            boundary = iam.create_policy(
                PolicyName=f"github-deploy-{environment}-permissions-boundary",
                PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
                ),
            )["Policy"]["Arn"]
            suffix = environment.upper()
            variables |= {
                f"AWS_PLAN_ROLE_ARN_{suffix}": PLAN_ROLE[environment],
                f"AWS_DEPLOY_ROLE_ARN_{suffix}": DEPLOY_ROLE[environment],
                f"CFN_ROLE_ARN_{suffix}": CFN_ROLE[environment],
                f"PERMISSIONS_BOUNDARY_ARN_{suffix}": boundary,
            }
        env = {
            "STANDIN_AWS_ENDPOINT_URL": aws_url,
            # The cargo stand-in first on the jobs' PATH, and what it hands over.
            "PATH": f"{ROOT / 'tests/workflows/bin'}:{os.environ['PATH']}",
            "STANDIN_DEPLOYER": str(workdir / "bin/deployer"),
            "STANDIN_DEPLOYER_KEY": key,
            **image_env,
            # The deployer pushes here instead of the registry ECR names (README: DEPLOYER_REGISTRY).
            "DEPLOYER_REGISTRY": registry_url,
            "GITHUB_API_URL": github.url,
        }
        application = one_service(repo)
        yield World(workdir, repo, aws_url, registry_url, github, application, variables, env, image_digest)


def one_service(repo: ScenarioRepo) -> str:
    """Leaves the scenario's deploy.yaml with its first service only (a scenario adds the
    second back); returns the application's name."""
    path = repo.path / "deploy.yaml"
    config = yaml.safe_load(path.read_text())
    assert "web" in config["services"], "the scenarios deploy the service `web` of deploy.yaml"
    config["services"] = {"web": config["services"]["web"]}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    repo.commit("deploy.yaml: one service to start with")
    return config["application"]


def project_services() -> dict:
    """The services of the project's own deploy.yaml (what the scenario repository started from)."""
    return yaml.safe_load((ROOT / "deploy.yaml").read_text())["services"]


def pull_request_event(
    number: int, head_repo: str = REPOSITORY, head_ref: str = "feature", title: str = "", action: str = "synchronize"
) -> dict:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "title": title or f"pull request {number}",
            "head": {"ref": head_ref, "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "repo": {"full_name": REPOSITORY}},
        },
        "repository": {"full_name": REPOSITORY},
    }
