"""Fixtures for the LocalStack suite: the real deployer binary against a LocalStack that
scripts/checks/32-cfn-localstack.sh started (once per run, URL in LOCALSTACK_URL), and
boto3 clients to check what it did through CloudFormation's own API.

LocalStack's CloudFormation is asynchronous (change sets and stacks progress in the
background, with per-resource events and rollback), unlike moto's, which finishes every
operation inside the API call that started it.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).parent / "fixtures" / "stack.yaml"
REGION = "us-east-1"
# Each deploy of the fixture takes a few seconds; far more than that is a hang.
DEPLOY_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="session")
def endpoint() -> str:
    url = os.environ.get("LOCALSTACK_URL")
    if not url:
        pytest.fail(
            "LOCALSTACK_URL is not set: run this suite through scripts/checks/32-cfn-localstack.sh "
            "(or scripts/test.sh localstack), which starts LocalStack for it"
        )
    # Fail fast on a LocalStack that is not there: boto3 would retry every call.
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=10) as answer:
            answer.read()
    except OSError as error:
        pytest.fail(f"LocalStack at LOCALSTACK_URL={url} does not answer its health endpoint: {error}")
    return url


@pytest.fixture(scope="session")
def deployer_bin() -> Path:
    path = Path(os.environ.get("DEPLOYER_BIN", ROOT / "target" / "debug" / "deployer"))
    if not path.is_file():
        pytest.fail(
            f"{path} does not exist: build it with `cargo build --locked --workspace --bins` (or set DEPLOYER_BIN)"
        )
    return path


@pytest.fixture(scope="session")
def cfn(endpoint: str) -> Any:
    """A boto3 CloudFormation client for LocalStack (dummy credentials, as the deployer's)."""
    return boto3.client(
        "cloudformation",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def stack_name(request: pytest.FixtureRequest) -> str:
    """A stack name no other test (or earlier run on the same LocalStack) uses."""
    short = request.node.name.removeprefix("test_").replace("_", "-")[:40]
    return f"ls-{short}-{uuid.uuid4().hex[:8]}"


def deployer_env(endpoint: str) -> dict[str, str]:
    """The deployer's environment: LocalStack through the standard SDK settings, as in CI
    (CI=true: never asks, plain progress lines), and nothing from the caller's AWS or
    GitHub settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "GITHUB_")) and k not in ("CI", "NO_COLOR", "DEPLOYER_REGISTRY")
    }
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_EC2_METADATA_DISABLED="true",
        CI="true",
        NO_COLOR="1",
    )
    return env


def deploy_args(stack: str, *extra: str, **parameters: str) -> list[str]:
    """`deploy` of the fixture template with these parameters, executed without asking."""
    args = ["deploy", "--stack-name", stack, "--template", str(TEMPLATE), "--yes", "--wait-timeout", "2m"]
    for key, value in parameters.items():
        args += ["--parameter", f"{key}={value}"]
    return args + list(extra)


@pytest.fixture
def deployer(deployer_bin: Path, endpoint: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`deployer(*args)` runs the real binary against LocalStack and returns its result."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(deployer_bin), *args],
            env=deployer_env(endpoint),
            capture_output=True,
            text=True,
            timeout=DEPLOY_TIMEOUT_SECONDS,
            check=False,
        )

    return run


def stack_of(cfn: Any, stack: str) -> dict[str, Any] | None:
    """The live stack named `stack`, or None when there is none (never created, or deleted)."""
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except cfn.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def settled(cfn: Any, stack: str, timeout: float = 60) -> dict[str, Any]:
    """Waits until the stack is in no *_IN_PROGRESS state and returns it."""
    deadline = time.monotonic() + timeout
    while True:
        current = stack_of(cfn, stack)
        assert current is not None, f"stack {stack} disappeared"
        if not current["StackStatus"].endswith("_IN_PROGRESS"):
            return current
        assert time.monotonic() < deadline, f"stack {stack} still {current['StackStatus']} after {timeout} s"
        time.sleep(0.5)


def events(cfn: Any, stack_id: str) -> list[dict[str, Any]]:
    """Every event of the stack (by id, so deleted stacks too), oldest first."""
    pages = cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id)
    return list(reversed([e for page in pages for e in page["StackEvents"]]))


def resource_events(cfn: Any, stack_id: str, logical_id: str) -> list[tuple[str, str]]:
    """(status, reason) of one resource's events, oldest first."""
    return [
        (e["ResourceStatus"], e.get("ResourceStatusReason", ""))
        for e in events(cfn, stack_id)
        if e["LogicalResourceId"] == logical_id
    ]


def root_cause_line(stderr: str) -> str:
    """The deployer's `root cause: ...` line (it prints it last on a failed deploy)."""
    lines = [line for line in stderr.splitlines() if line.startswith("root cause: ")]
    assert len(lines) == 1, f"expected one root cause line, got {lines}; stderr:\n{stderr}"
    return lines[0]
