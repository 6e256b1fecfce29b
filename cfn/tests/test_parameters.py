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
from cfn_support.engine import constraint_violation  # noqa: E402  (needs the path above)

DIGEST = "0123456789abcdef" * 4
APP_PARAMETERS = load_template("app.yaml")["Parameters"]


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
        "NatGateways",
        "SelfSignUp",
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
        ("Cpu", "1024"),
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
        ("DesiredCount", "0"),
        ("MaxTasks", "101"),
        ("ContainerPort", "80"),
        ("ContainerPort", "eighty"),
        ("Cpu", "300"),
        ("Memory", "100"),
    ],
)
def test_bad_values_are_refused_with_the_constraint_description(name: str, value: str) -> None:
    problem = constraint_violation(name, APP_PARAMETERS[name], value)
    assert (
        problem == f"Parameter '{name}' failed to satisfy constraint: {APP_PARAMETERS[name]['ConstraintDescription']}"
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("DomainName", "App.Example.com"),
        ("ImageUri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest"),
    ],
)
def test_moto_refuses_the_change_set_before_creating_anything(aws: Any, name: str, value: str) -> None:
    good = {
        "HostedZoneId": "Z0123456789ABCDEFGHIJ",
        "DomainName": "app.example.com",
        "CognitoDomainPrefix": "refused-login",
        "ImageUri": f"127.0.0.1:5000/app@sha256:{DIGEST}",
    }
    vpcs_before = aws("ec2").describe_vpcs()["Vpcs"]
    with pytest.raises(ClientError) as refused:
        deploy(aws("cloudformation"), f"refused-{name.lower()}", template_text("app.yaml"), {**good, name: value}, True)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].startswith(f"Parameter '{name}' failed to satisfy constraint:")
    assert refused.value.operation_name == "CreateChangeSet"
    assert aws("ec2").describe_vpcs()["Vpcs"] == vpcs_before
