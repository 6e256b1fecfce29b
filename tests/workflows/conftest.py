"""Fixtures for the act scenarios: one local AWS, registry, fake GitHub API and scenario
repository per test session, shared by the scenarios in order (a push creates the stack
that the next push updates and the pull request previews)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from act_harness import REPOSITORY, ROOT, ActRun, ScenarioRepo, run_act  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from services import moto, registry  # noqa: E402

ACCOUNT = "123456789012"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/alb-app-github-deploy"
PLAN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/alb-app-github-plan"
PREVIEW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/alb-app-github-preview"
CFN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/alb-app-cloudformation"
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
    variables: dict[str, str]
    env: dict[str, str]
    # The digest of the working tree's image (the stand-in's cache holds it before any run).
    seeded_image_digest: str
    runs: dict[str, ActRun] = field(default_factory=dict)

    def cfn(self):
        return boto3.client(
            "cloudformation",
            endpoint_url=self.aws_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def stack(self) -> dict | None:
        stacks = [
            s
            for s in self.cfn().list_stacks()["StackSummaries"]
            if s["StackName"] == self.variables["STACK_NAME"] and s["StackStatus"] != "DELETE_COMPLETE"
        ]
        if not stacks:
            return None
        return self.cfn().describe_stacks(StackName=self.variables["STACK_NAME"])["Stacks"][0]

    def image_uri(self) -> str:
        params = {p["ParameterKey"]: p["ParameterValue"] for p in self.stack()["Parameters"]}
        return params["ImageUri"]

    def tags(self) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.stack().get("Tags") or []}

    def change_sets(self) -> list[dict]:
        """Change sets left on the stack that were never executed (an executed one stays listed)."""
        if self.stack() is None:
            return []
        summaries = self.cfn().list_change_sets(StackName=self.variables["STACK_NAME"])["Summaries"]
        return [c for c in summaries if c.get("ExecutionStatus") != "EXECUTE_COMPLETE"]

    def executed_change_sets(self) -> int:
        """How many change sets the stack has completed: its own CREATE_COMPLETE and
        UPDATE_COMPLETE events. (Not the EXECUTE_COMPLETE change sets: executing one deletes
        the stack's others, as CloudFormation does, so they do not stay to be counted.)"""
        if self.stack() is None:
            return 0
        name = self.variables["STACK_NAME"]
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
        with urllib.request.urlopen(f"{self.aws_url}/moto-api/recorder/download-recording") as r:
            lines = r.read().decode().splitlines()
        calls = []
        for line in filter(None, lines):
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            params = dict(urllib.parse.parse_qsl(body))
            if params.get("Action") == "CreateChangeSet":
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
    # Exactly scripts/local.sh's command, in the same target dir and environment: after
    # check 60-local-run it compiles nothing; on a clean clone it builds what both need.
    subprocess.run(["cargo", "build", "--locked", "-p", "deployer", "-p", "xtask"], cwd=ROOT, check=True)
    given = os.environ.get("ACT_TEST_DEPLOYER")  # another build of this tree, e.g. target/release/deployer
    deployer = Path(given).resolve(strict=True) if given else ROOT / "target/debug/deployer"
    return deployer, ROOT / "target/debug/xtask"


def seed_image_cache(workdir: Path, env: dict[str, str]) -> str:
    """Runs the build-push stand-in once on the working tree itself, before any act run.

    It leaves the image of the app under test in the stand-in's cache, as the buildx layer
    cache of an earlier CI run on the same sources would: the first push then builds
    nothing, and a scenario that changes the app really compiles it. Built in the
    project's own directory and target/ with scripts/local.sh's command, so after check
    60-local-run this compiles nothing. Returns the image's digest."""
    outputs = workdir / "seed-outputs"
    subprocess.run(
        ["bash", str(ROOT / "tests/workflows/actions/build-push/build.sh")],
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
        zone = r53.create_hosted_zone(Name="act.example.com", CallerReference="act-scenarios")
        # The permissions boundary the bootstrap stack makes (cfn/github-oidc.yaml), which
        # cfn/app.yaml attaches to the roles it creates.
        boundary = boto3.client(
            "iam",
            endpoint_url=aws_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).create_policy(
            PolicyName="alb-app-permissions-boundary",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )["Policy"]["Arn"]
        variables = {
            "AWS_REGION": "us-east-1",
            "AWS_DEPLOY_ROLE_ARN": DEPLOY_ROLE,
            "AWS_PLAN_ROLE_ARN": PLAN_ROLE,
            "AWS_PREVIEW_ROLE_ARN": PREVIEW_ROLE,
            "CFN_ROLE_ARN": CFN_ROLE,
            "PERMISSIONS_BOUNDARY_ARN": boundary,
            "STACK_NAME": "alb-app-act",
            "ECR_REPOSITORY": "alb-app",
            "HOSTED_ZONE_ID": zone["HostedZone"]["Id"].split("/")[-1],
            "DOMAIN_NAME": "app.act.example.com",
            "COGNITO_DOMAIN_PREFIX": "alb-app-act",
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
        yield World(workdir, repo, aws_url, registry_url, github, variables, env, image_digest)


def pull_request_event(number: int, head_repo: str = REPOSITORY, head_ref: str = "feature", title: str = "") -> dict:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "title": title or f"pull request {number}",
            "head": {"ref": head_ref, "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "repo": {"full_name": REPOSITORY}},
        },
        "repository": {"full_name": REPOSITORY},
    }
