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
ENVIRONMENT = load_template("environment.yaml")
SERVICE = load_template("service.yaml")
# Every parameter of both templates; the few both have (DomainName, HostedZoneId,
# CognitoDomainPrefix) take the same values in both (checked below).
PARAMETERS = {**ENVIRONMENT["Parameters"], **SERVICE["Parameters"]}


def _constraint_message(name: str) -> str:
    return f"Parameter '{name}' failed to satisfy constraint: {PARAMETERS[name]['ConstraintDescription']}"


@pytest.mark.parametrize(
    "template", ["environment.yaml", "service.yaml", "github-oidc.yaml", "pull-request-previews.yaml"]
)
def test_every_parameter_says_what_it_is_and_what_a_good_value_looks_like(template: str) -> None:
    for name, declaration in load_template(template)["Parameters"].items():
        assert declaration.get("Description"), f"{template}: {name} has no Description"
        constrained = {"AllowedPattern", "AllowedValues", "MinValue", "MaxValue"} & set(declaration)
        assert constrained, f"{template}: {name} accepts anything"
        assert declaration.get("ConstraintDescription"), f"{template}: {name} has no ConstraintDescription"


# The environment's outputs a service stack gets as parameters of the same names (the
# deployer's wiring rule, COMMON contract); the rest are not a service's business.
WIRED = {
    "VpcId",
    "PrivateSubnetIds",
    "LoadBalancerArn",
    "LoadBalancerFullName",
    "LoadBalancerDnsName",
    "LoadBalancerCanonicalHostedZoneId",
    "HttpsListenerArn",
    "LoadBalancerSecurityGroupId",
    "ClusterName",
    "UserPoolId",
    "UserPoolArn",
    "UserPoolProviderUrl",
    "CognitoDomainPrefix",
    "HostedZoneId",
    "DomainName",
}


def test_environment_parameters_are_the_ones_the_deployer_passes() -> None:
    assert set(ENVIRONMENT["Parameters"]) == {
        "HostedZoneId",
        "DomainName",
        "CognitoDomainPrefix",
        "NatGateways",
        "WildcardCertificate",
        "SelfSignUp",
        # Only for the environment with `previews:` (the stack's name, an ALB name).
        "LoadBalancerName",
    }
    assert set(ENVIRONMENT["Outputs"]) == WIRED | {"CertificateArn", "EnvironmentUrl"}


def test_service_parameters_are_the_wired_outputs_and_what_the_deployer_computes() -> None:
    computed = {
        "HostName",
        "PathPrefix",
        "Login",
        "ApiRulePriority",
        "AppRulePriority",
        "CreateDnsRecord",
        "CreateCertificate",
        "PermissionsBoundaryArn",
    }
    own = {
        "ImageUri",
        "ContainerPort",
        "HealthCheckPath",
        "ContainerHealthCheck",
        "Cpu",
        "Memory",
        "MinTasks",
        "MaxTasks",
        "DesiredCount",
    }
    assert set(SERVICE["Parameters"]) == WIRED | computed | own
    assert set(SERVICE["Parameters"]) & set(ENVIRONMENT["Outputs"]) == WIRED
    assert SERVICE["Parameters"]["PrivateSubnetIds"]["Type"] == "CommaDelimitedList"
    assert "Default" not in SERVICE["Parameters"]["ImageUri"], "the deployer must always name the image"
    for name in WIRED:
        assert "Default" not in SERVICE["Parameters"][name], f"{name} must come from the environment"
    assert SERVICE["Parameters"]["ContainerPort"]["Default"] == 8080


@pytest.mark.parametrize("name", sorted(set(ENVIRONMENT["Parameters"]) & set(SERVICE["Parameters"])))
def test_parameters_of_both_templates_accept_the_same_values(name: str) -> None:
    environment, service = ENVIRONMENT["Parameters"][name], SERVICE["Parameters"][name]
    for key in ("Type", "AllowedPattern", "AllowedValues", "MinLength", "MaxLength"):
        assert environment.get(key) == service.get(key), f"{name}.{key}"


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
        ("WildcardCertificate", "true"),
        ("HostName", "app.staging.example.com"),
        ("PathPrefix", ""),
        ("PathPrefix", "/docs"),
        ("PathPrefix", "/docs/v2"),
        ("Login", "none"),
        ("ApiRulePriority", "1"),
        ("AppRulePriority", "50000"),
        ("CreateCertificate", "true"),
        ("HealthCheckPath", "/healthz"),
        ("PrivateSubnetIds", "subnet-0123456789abcdef0,subnet-89abcdef"),
        ("UserPoolId", "eu-west-1_AbCdEf123"),
        ("UserPoolId", "us-gov-west-1_AbCdEf123"),
        ("UserPoolProviderUrl", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"),
    ],
)
def test_good_values_are_accepted(name: str, value: str) -> None:
    assert constraint_violation(name, PARAMETERS[name], value) is None


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
        ("WildcardCertificate", "yes"),
        ("HostName", "App.example.com"),
        ("PathPrefix", "/"),
        ("PathPrefix", "/docs/"),
        ("PathPrefix", "docs"),
        ("PathPrefix", "/docs/*"),
        ("Login", "oidc"),
        ("ApiRulePriority", "0"),
        ("AppRulePriority", "50001"),
        ("CreateDnsRecord", "maybe"),
        ("HealthCheckPath", "healthz"),
        ("HealthCheckPath", "/health check"),
        # Each value of the list must be a subnet id (CloudFormation checks each one).
        ("PrivateSubnetIds", "subnet-0123456789abcdef0,sg-0123456789abcdef0"),
        ("PrivateSubnetIds", ""),
        ("LoadBalancerArn", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/0123456789abcdef"),
        ("HttpsListenerArn", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/0123"),
        ("UserPoolProviderUrl", "https://example.com/eu-west-1_AbCdEf123"),
    ],
)
def test_bad_values_are_refused_with_the_constraint_description(name: str, value: str) -> None:
    assert constraint_violation(name, PARAMETERS[name], value) == _constraint_message(name)


# What a service needs besides its defaults: values as the environment would output them.
REQUIRED = {
    "VpcId": "vpc-0123456789abcdef0",
    "PrivateSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
    "LoadBalancerArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/env/0123456789abcdef",
    "LoadBalancerFullName": "app/env/0123456789abcdef",
    "LoadBalancerDnsName": "env-123.eu-west-1.elb.amazonaws.com",
    "LoadBalancerCanonicalHostedZoneId": "Z32O12XQLNTSW2",
    "HttpsListenerArn": (
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/env/0123456789abcdef/fedcba9876543210"
    ),
    "LoadBalancerSecurityGroupId": "sg-0123456789abcdef0",
    "ClusterName": "env-Cluster-ABC",
    "UserPoolId": "eu-west-1_AbCdEf123",
    "UserPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123",
    "UserPoolProviderUrl": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    "CognitoDomainPrefix": "example-app-login",
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "DomainName": "example.com",
    "HostName": "app.example.com",
    "ApiRulePriority": "25000",
    "AppRulePriority": "25001",
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
    template = SERVICE
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
        (
            "AppRulePriority",
            "25000",
            "ApiRulePriority and AppRulePriority must differ (the deployer passes p and p + 1).",
        ),
        # Host "@": the environment owns DomainName's records.
        (
            "HostName",
            "example.com",
            "With HostName equal to DomainName, CreateDnsRecord must be false "
            "(the environment stack owns those records).",
        ),
    ],
)
def test_moto_refuses_the_change_set_before_creating_anything(aws: Any, name: str, value: str, message: str) -> None:
    vpcs_before = aws("ec2").describe_vpcs()["Vpcs"]
    with pytest.raises(ClientError) as refused:
        values = {**REQUIRED, name: value}
        deploy(aws("cloudformation"), f"refused-{name.lower()}", template_text("service.yaml"), values, True)
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationError", message)
    assert refused.value.operation_name == "CreateChangeSet"
    assert aws("ec2").describe_vpcs()["Vpcs"] == vpcs_before


# The previews' bootstrap stack gets its values from the environment's bootstrap stack
# and deploy.yaml (deployer bootstrap): what one accepts, the other must too.
PULL_REQUESTS = load_template("pull-request-previews.yaml")["Parameters"]
SAME_AS = {
    **{name: ("github-oidc.yaml", name) for name in ("GitHubOrg", "GitHubRepo", "GitHubOwnerId", "GitHubRepoId")},
    "Branch": ("github-oidc.yaml", "Branch"),
    "EcrRepositoryPrefix": ("github-oidc.yaml", "EcrRepositoryPrefix"),
    "HostedZoneId": ("environment.yaml", "HostedZoneId"),
    "PreviewDomain": ("environment.yaml", "DomainName"),
}


@pytest.mark.parametrize("name", sorted(SAME_AS))
def test_the_previews_bootstrap_accepts_what_its_sources_accept(name: str) -> None:
    template, source = SAME_AS[name]
    assert PULL_REQUESTS[name]["AllowedPattern"] == load_template(template)["Parameters"][source]["AllowedPattern"]


def test_the_previews_app_stack_name_is_also_a_load_balancer_name() -> None:
    # listener/app/AppStackName/*: the environment's LoadBalancerName is the stack name.
    assert ENVIRONMENT["Parameters"]["LoadBalancerName"]["MaxLength"] == 32
    assert PULL_REQUESTS["AppStackName"]["AllowedPattern"] == "^[A-Za-z][A-Za-z0-9-]{0,31}$"
