"""The parameters of every template: each one documented and constrained, good values
accepted, bad ones refused before any resource is touched (on the moto launcher, which
checks constraints the way CloudFormation does, and by the constraint checker directly).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROOT, deploy, load_template, template_text

sys.path.insert(0, str(ROOT / "tools" / "moto"))
from cfn_support.engine import check_parameters, constraint_violation  # noqa: E402  (needs the path above)
from moto.cloudformation.exceptions import ValidationError  # noqa: E402

DIGEST = "0123456789abcdef" * 4
APP_PARAMETERS = load_template("app.yaml")["Parameters"]


def _constraint_message(name: str) -> str:
    return f"Parameter '{name}' failed to satisfy constraint: {APP_PARAMETERS[name]['ConstraintDescription']}"


@pytest.mark.parametrize("template", ["app.yaml", "github-oidc.yaml"])
def test_every_parameter_says_what_it_is_and_what_a_good_value_looks_like(template: str) -> None:
    for name, declaration in load_template(template)["Parameters"].items():
        assert declaration.get("Description"), f"{template}: {name} has no Description"
        constrained = {"AllowedPattern", "AllowedValues", "MinValue", "MaxValue"} & set(declaration)
        assert constrained, f"{template}: {name} accepts anything"
        assert declaration.get("ConstraintDescription"), f"{template}: {name} has no ConstraintDescription"


def test_app_parameters_are_the_ones_the_deployer_passes() -> None:
    assert set(APP_PARAMETERS) == {
        "HostedZoneId",
        "DomainName",
        "CognitoDomainPrefix",
        "ImageUri",
        "DesiredCount",
        "MinTasks",
        "MaxTasks",
        "Cpu",
        "Memory",
        "ContainerPort",
        "ContainerHealthCheck",
        "NatGateways",
        "SelfSignUp",
        "PermissionsBoundaryArn",
    }
    assert "Default" not in APP_PARAMETERS["ImageUri"], "the deployer must always name the image"
    assert APP_PARAMETERS["ContainerPort"]["Default"] == 8080


@pytest.mark.parametrize(
    "name, value",
    [
        ("ImageUri", f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:{DIGEST}"),
        ("ImageUri", f"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web-app@sha256:{DIGEST}"),
        ("ImageUri", f"127.0.0.1:5000/app@sha256:{DIGEST}"),
        ("ImageUri", f"localhost:5000/team/app@sha256:{DIGEST}"),
        ("DomainName", "app.example.com"),
        ("DomainName", "my-app.eu.example.co.uk"),
        ("HostedZoneId", "Z0123456789ABCDEFGHIJ"),
        ("CognitoDomainPrefix", "example-app-login"),
        ("NatGateways", "2"),
        ("SelfSignUp", "true"),
        ("MaxTasks", "100"),
        ("DesiredCount", "0"),
        ("DesiredCount", "100"),
        ("Cpu", "1024"),
        ("ContainerHealthCheck", "/service --healthcheck"),
        ("ContainerHealthCheck", "/app/bin/check"),
        ("ContainerHealthCheck", "none"),
        ("PermissionsBoundaryArn", "arn:aws:iam::123456789012:policy/github-deploy-PermissionsBoundary-AbC123"),
        ("PermissionsBoundaryArn", "arn:aws-cn:iam::123456789012:policy/team/boundary"),
    ],
)
def test_good_values_are_accepted(name: str, value: str) -> None:
    assert constraint_violation(name, APP_PARAMETERS[name], value) is None


@pytest.mark.parametrize(
    "name, value",
    [
        ("ImageUri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest"),
        ("ImageUri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"),
        ("ImageUri", f"app@sha256:{DIGEST}"),
        ("ImageUri", f"127.0.0.1:5000/app@sha256:{DIGEST[:-1]}"),
        ("ImageUri", f"127.0.0.1:5000/App@sha256:{DIGEST}"),
        ("DomainName", "App.example.com"),
        ("DomainName", "app example.com"),
        ("DomainName", "https://app.example.com/"),
        ("DomainName", "app.example.com."),
        ("DomainName", "localhost"),
        ("HostedZoneId", "/hostedzone/Z0123456789ABCDEFGHIJ"),
        ("HostedZoneId", "example.com"),
        ("CognitoDomainPrefix", "Example"),
        ("CognitoDomainPrefix", "-login"),
        ("NatGateways", "3"),
        ("SelfSignUp", "yes"),
        ("DesiredCount", "101"),
        ("DesiredCount", "02"),
        ("DesiredCount", "-1"),
        ("MaxTasks", "101"),
        ("ContainerPort", "80"),
        ("ContainerPort", "eighty"),
        ("Cpu", "300"),
        ("Memory", "100"),
        # Exec form without a shell: a relative command or a shell pipeline cannot run.
        ("ContainerHealthCheck", "curl -f http://localhost/healthz"),
        ("ContainerHealthCheck", "/service  --healthcheck"),
        ("ContainerHealthCheck", ""),
        ("PermissionsBoundaryArn", ""),
        ("PermissionsBoundaryArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ("PermissionsBoundaryArn", "arn:aws:iam::123456789012:role/boundary"),
        ("PermissionsBoundaryArn", "github-deploy-PermissionsBoundary-AbC123"),
    ],
)
def test_bad_values_are_refused_with_the_constraint_description(name: str, value: str) -> None:
    assert constraint_violation(name, APP_PARAMETERS[name], value) == _constraint_message(name)


REQUIRED = {
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "DomainName": "app.example.com",
    "CognitoDomainPrefix": "example-app-login",
    "ImageUri": f"127.0.0.1:5000/app@sha256:{DIGEST}",
    "PermissionsBoundaryArn": "arn:aws:iam::123456789012:policy/app-role-boundary",
}


@pytest.mark.parametrize(
    "cpu, memory, fits",
    [
        ("256", "512", True),
        ("256", "2048", True),
        ("256", "4096", False),
        ("512", "512", False),
        ("1024", "8192", True),
        ("2048", "30720", False),
        ("4096", "30720", True),
        ("4096", "4096", False),
    ],
)
def test_memory_must_be_a_size_fargate_offers_for_the_cpu(cpu: str, memory: str, fits: bool) -> None:
    template = load_template("app.yaml")
    if fits:
        check_parameters(template, {**REQUIRED, "Cpu": cpu, "Memory": memory})
    else:
        with pytest.raises(ValidationError, match=f"With Cpu {cpu}, Memory must be"):
            check_parameters(template, {**REQUIRED, "Cpu": cpu, "Memory": memory})


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("DomainName", "App.Example.com", _constraint_message("DomainName")),
        ("ImageUri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest", _constraint_message("ImageUri")),
        # Valid alone, but not with the default Cpu 256 (the template's Rules).
        ("Memory", "8192", "With Cpu 256, Memory must be 512, 1024 or 2048."),
    ],
)
def test_moto_refuses_the_change_set_before_creating_anything(aws: Any, name: str, value: str, message: str) -> None:
    vpcs_before = aws("ec2").describe_vpcs()["Vpcs"]
    with pytest.raises(ClientError) as refused:
        values = {**REQUIRED, name: value}
        deploy(aws("cloudformation"), f"refused-{name.lower()}", template_text("app.yaml"), values, True)
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationError", message)
    assert refused.value.operation_name == "CreateChangeSet"
    assert aws("ec2").describe_vpcs()["Vpcs"] == vpcs_before
