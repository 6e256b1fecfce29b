"""Fixtures for the template tests: a moto launcher on a free loopback port, boto3 clients
pointed at it, and helpers to deploy a template the way the deployer does (change sets).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "tools" / "moto" / "launcher.py"
REGION = "eu-west-1"
STARTUP_TIMEOUT_SECONDS = 60
# service.yaml's required PermissionsBoundaryArn (on AWS the bootstrap's
# PermissionsBoundary output); moto checks only that it is a policy ARN.
BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/app-role-boundary"


def template_text(name: str) -> str:
    """The text of cfn/<name>."""
    return (ROOT / "cfn" / name).read_text()


class _TemplateLoader(yaml.SafeLoader):
    """YAML loader that reads CloudFormation's short forms (!Ref x) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(name: str) -> dict[str, Any]:
    """cfn/<name> parsed, short-form intrinsics included."""
    return yaml.load(template_text(name), Loader=_TemplateLoader)  # noqa: S506 (safe loader subclass)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Starts tools/moto/launcher.py on a free port and yields its http://127.0.0.1:<port>."""
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield _wait_until_ready(process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the moto launcher did not stop within 10 s of SIGTERM")
    assert process.returncode == 0, f"the moto launcher exited with {process.returncode} on SIGTERM"


def _wait_until_ready(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("READY "):
                return line.split(" ", 1)[1].strip()
            if line == "":
                break
    process.kill()
    pytest.fail(
        f"{LAUNCHER} did not print READY within {STARTUP_TIMEOUT_SECONDS} s "
        f"(exit code {process.poll()}); run scripts/deps.sh to install moto"
    )


@pytest.fixture(scope="session")
def aws(moto_endpoint: str) -> Any:
    """`aws("ec2")` is a boto3 client for the moto server with dummy credentials."""
    os.environ.pop("AWS_PROFILE", None)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=moto_endpoint)

    return client


def parameters(values: dict[str, str]) -> list[dict[str, str]]:
    """CloudFormation's parameter list from a dict."""
    return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in values.items()]


def deploy(cfn: Any, stack_name: str, template: str, values: dict[str, str], create: bool) -> dict[str, Any]:
    """Creates or updates a stack through a change set, as the deployer does; returns the stack."""
    change_set = cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName=f"deploy-{uuid.uuid4().hex[:12]}",
        ChangeSetType="CREATE" if create else "UPDATE",
        TemplateBody=template,
        Parameters=parameters(values),
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.get_waiter("change_set_create_complete").wait(
        ChangeSetName=change_set["Id"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    waiter = "stack_create_complete" if create else "stack_update_complete"
    cfn.get_waiter(waiter).wait(StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    """A stack's outputs as a dict."""
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def resources(cfn: Any, stack_name: str) -> dict[str, str]:
    """Logical id -> physical id of every resource in the stack."""
    listed = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    # moto also lists resources whose Condition is false, without ids: skip those.
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed if "LogicalResourceId" in r}


def environment_wired(environment_outputs: dict[str, str]) -> dict[str, str]:
    """The service.yaml parameters the deployer fills from the environment stack: every
    one named like an environment.yaml output (the wiring rule), with that output's value."""
    names = set(load_template("service.yaml")["Parameters"]) & set(load_template("environment.yaml")["Outputs"])
    missing = sorted(n for n in names if n not in environment_outputs)
    assert not missing, f"the environment stack has no outputs {missing}"
    return {name: environment_outputs[name] for name in sorted(names)}


def create_zone(aws: Any, name: str) -> str:
    """A public hosted zone for `name`; returns its id without /hostedzone/."""
    zone = aws("route53").create_hosted_zone(Name=f"{name}.", CallerReference=f"zone-{uuid.uuid4().hex}")
    return zone["HostedZone"]["Id"].split("/")[-1]


def deploy_environment(aws: Any, stack_name: str, values: dict[str, str], create: bool = True) -> dict[str, Any]:
    """Creates or updates an environment stack (cfn/environment.yaml); returns the stack."""
    return deploy(aws("cloudformation"), stack_name, template_text("environment.yaml"), values, create)


def deploy_service(
    aws: Any, stack_name: str, environment: dict[str, Any], values: dict[str, str], create: bool = True
) -> dict[str, Any]:
    """Creates or updates a service stack on `environment` (a stack description): its
    environment-wired parameters come from the environment's outputs, as the deployer
    passes them, the rest from `values`."""
    wired = environment_wired(outputs(environment))
    return deploy(aws("cloudformation"), stack_name, template_text("service.yaml"), {**wired, **values}, create)
