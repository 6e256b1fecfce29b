"""What the previews' CloudFormation service role (cfn/pull-request-previews.yaml
PullRequestServiceRole) lets a preview's template do, evaluated with policy_eval.py.

A pull request's author writes pr.yml and so the template its preview stack runs; the
role executing it is all that stands between that template and the account. It must
create a preview's service stack (the handlers' calls, test_service_role_permissions.py)
on the preview environment, and nothing of another environment: no listener rule on
another load balancer, no app client in another pool, no record outside the preview
domain (or of another type), no role without the boundary or outside the previews' path.

Request contexts are what the service would send (Service Authorization Reference keys);
which keys each API really evaluates is assumed (README "Preview security").
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import load_template
from policy_eval import ACCOUNT, PARTITION, REGION, allowed, physical_ids, render

TEMPLATE = load_template("pull-request-previews.yaml")
BOUNDARY = f"arn:{PARTITION}:iam::{ACCOUNT}:policy/github-deploy-preview-PermissionsBoundary-ABC"
ZONE = "Z0PREVIEW"
RESOURCES = render(
    TEMPLATE,
    {
        "GitHubOrg": "octo-org",
        "GitHubRepo": "web-app",
        "GitHubOwnerId": "9919",
        "GitHubRepoId": "1296269",
        "OidcProviderArn": f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
        "AppStackName": "hello-preview",
        "EcrRepositoryPrefix": "hello",
        "PermissionsBoundaryArn": BOUNDARY,
        "HostedZoneId": ZONE,
        "PreviewDomain": "preview.example.com",
    },
)
STATEMENTS: list[dict[str, Any]] = [
    s for p in RESOURCES["PullRequestServiceRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
]
IN_REGION = {"aws:RequestedRegion": REGION}
STACK = "hello-preview-pr-7-web"


def _may(action: str, resource: str, context: dict[str, Any] | None = None) -> bool:
    return allowed(STATEMENTS, action, resource, {**IN_REGION, **(context or {})})


def _elb(kind: str, lb: str) -> str:
    tail = "/50dc6c495c0c9188/f2f7dc8efc522ab2" + ("/9683b2d02a6cabee" if kind == "listener-rule" else "")
    return f"arn:{PARTITION}:elasticloadbalancing:{REGION}:{ACCOUNT}:{kind}/app/{lb}{tail}"


def _pool(tag: str | None) -> tuple[str, dict[str, str]]:
    arn = f"arn:{PARTITION}:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_AbC123"
    return arn, ({"aws:ResourceTag/deployer:environment-stack": tag} if tag else {})


def _zone(zone: str = ZONE) -> str:
    return f"arn:{PARTITION}:route53:::hostedzone/{zone}"


def _records(names: list[str], types: list[str]) -> dict[str, Any]:
    return {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
        "route53:ChangeResourceRecordSetsRecordTypes": types,
        "route53:ChangeResourceRecordSetsActions": ["CREATE"],
    }


def _role(path: str, name: str = "hello-preview-pr-7-web-TaskRole-ABC") -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{path}/{name}"


def _ecs(kind: str, name: str) -> str:
    return f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:{kind}/{name}"


def _tagged(stack: str) -> dict[str, str]:
    return {"aws:ResourceTag/aws:cloudformation:stack-name": stack}


# ---------------------------------------------------------------- what a preview stack does


def test_it_creates_a_preview_service_stacks_resources() -> None:
    boundary = {"iam:PermissionsBoundary": BOUNDARY}
    role = _role(STACK)
    assert _may("iam:CreateRole", role, boundary)
    assert _may("iam:PutRolePolicy", role, boundary)
    assert _may("iam:PassRole", role)
    assert _may("iam:DeleteRole", role)
    assert _may("ecs:RegisterTaskDefinition", _ecs("task-definition", f"{STACK}:1"))
    assert _may("ecs:DeregisterTaskDefinition", "*")
    service = _ecs("service", f"hello-preview-Cluster-AbC/{STACK}-Service-XyZ")
    for action in ("CreateService", "UpdateService", "DeleteService", "DescribeServices", "TagResource"):
        assert _may(f"ecs:{action}", service), action
    log_group = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{STACK}-LogGroup-AbC:*"
    for action in ("CreateLogGroup", "PutRetentionPolicy", "DeleteLogGroup", "TagResource"):
        assert _may(f"logs:{action}", log_group), action
    listener, rule = _elb("listener", "hello-preview"), _elb("listener-rule", "hello-preview")
    assert _may("elasticloadbalancing:CreateRule", listener)
    for action in ("ModifyRule", "DeleteRule", "SetRulePriorities", "AddTags"):
        assert _may(f"elasticloadbalancing:{action}", rule), action
    target_group = (
        f"arn:{PARTITION}:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/hello-Targe-1A2B/73e2d6bc24d8a067"
    )
    assert _may("elasticloadbalancing:CreateTargetGroup", target_group)
    assert _may(
        "elasticloadbalancing:AddTags", target_group, {"elasticloadbalancing:CreateAction": "CreateTargetGroup"}
    )
    assert _may("elasticloadbalancing:AddTags", target_group, _tagged(STACK))
    for action in ("ModifyTargetGroup", "DeleteTargetGroup", "RegisterTargets"):
        assert _may(f"elasticloadbalancing:{action}", target_group, _tagged(STACK)), action
    pool, tag = _pool("hello-preview")
    for action in ("CreateUserPoolClient", "UpdateUserPoolClient", "DeleteUserPoolClient", "DescribeUserPoolClient"):
        assert _may(f"cognito-idp:{action}", pool, tag), action
    group = f"arn:{PARTITION}:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0"
    assert _may("ec2:CreateSecurityGroup", group)
    assert _may("ec2:CreateTags", group, {"ec2:CreateAction": "CreateSecurityGroup"})
    assert _may("ec2:CreateTags", group, _tagged(STACK))
    assert _may("ec2:AuthorizeSecurityGroupIngress", group, _tagged(STACK))
    # The service's egress rule on the environment's load balancer group.
    assert _may("ec2:AuthorizeSecurityGroupEgress", group, _tagged("hello-preview"))
    assert _may("ec2:DeleteSecurityGroup", group, _tagged(STACK))
    for name in ("pr-7.preview.example.com", "pr-7-web.preview.example.com"):
        assert _may("route53:ChangeResourceRecordSets", _zone(), _records([name], ["A"]))
        assert _may("route53:ChangeResourceRecordSets", _zone(), _records([name], ["AAAA"]))
    assert _may("route53:GetChange", f"arn:{PARTITION}:route53:::change/C123")
    assert _may("application-autoscaling:RegisterScalableTarget", "*")


# ---------------------------------------------------------------- what it never does


@pytest.mark.parametrize("lb", ["hello-production", "hello-staging", "hello-preview-x", "hello-Loadb-1A2B3C"])
def test_no_listener_rule_on_another_load_balancer(lb: str) -> None:
    assert not _may("elasticloadbalancing:CreateRule", _elb("listener", lb))
    for action in ("ModifyRule", "DeleteRule", "SetRulePriorities"):
        assert not _may(f"elasticloadbalancing:{action}", _elb("listener-rule", lb)), action
    # Nor the listener itself, on any load balancer.
    for target in (_elb("listener", lb), _elb("listener", "hello-preview")):
        assert not _may("elasticloadbalancing:ModifyListener", target)
        assert not _may("elasticloadbalancing:DeleteListener", target)


@pytest.mark.parametrize("tag", ["hello-production", "hello-staging", "hello-preview-pr-7-web", None])
def test_no_app_client_in_another_pool(tag: str | None) -> None:
    pool, context = _pool(tag)
    for action in ("CreateUserPoolClient", "UpdateUserPoolClient", "DeleteUserPoolClient", "DescribeUserPoolClient"):
        assert not _may(f"cognito-idp:{action}", pool, context), action


def test_no_user_group_identity_provider_or_pool_change_even_in_the_preview_pool() -> None:
    pool, tag = _pool("hello-preview")
    for action in (
        "AdminCreateUser",
        "AdminSetUserPassword",
        "AdminAddUserToGroup",
        "CreateGroup",
        "CreateIdentityProvider",
        "UpdateUserPool",
        "DeleteUserPool",
        "CreateUserPoolDomain",
        "ListUsers",
    ):
        assert not _may(f"cognito-idp:{action}", pool, tag), action


@pytest.mark.parametrize(
    "names, types",
    [
        (["www.example.com"], ["A"]),  # outside the preview domain
        (["preview.example.com"], ["A"]),  # the domain itself: the environment's records
        (["evilpreview.example.com"], ["A"]),
        (["pr-7.preview.example.com.evil.com"], ["A"]),
        (["pr-7.preview.example.com", "www.example.com"], ["A"]),  # one bad name in a batch
        (["pr-7.preview.example.com"], ["CNAME"]),
        (["pr-7.preview.example.com"], ["NS"]),  # delegating a name away
        (["pr-7.preview.example.com"], ["TXT"]),  # e.g. a certificate validation elsewhere
        (["pr-7.preview.example.com"], ["A", "MX"]),
        # The wildcard record (Route 53 normalizes * to \052): every name no preview has.
        (["\\052.preview.example.com"], ["A"]),
        (["pr-7.preview.example.com", "\\052.pr-7.preview.example.com"], ["A"]),
    ],
)
def test_no_record_outside_the_preview_domain_or_of_another_type(names: list[str], types: list[str]) -> None:
    assert not _may("route53:ChangeResourceRecordSets", _zone(), _records(names, types))


def test_no_record_in_another_zone_and_no_change_without_the_keys() -> None:
    good = _records(["pr-7.preview.example.com"], ["A"])
    assert not _may("route53:ChangeResourceRecordSets", _zone("ZPRODUCTION"), good)
    # ForAllValues holds for an absent key: the Null conditions refuse that.
    assert not _may("route53:ChangeResourceRecordSets", _zone(), {})
    types_only = {"route53:ChangeResourceRecordSetsRecordTypes": ["A"]}
    assert not _may("route53:ChangeResourceRecordSets", _zone(), types_only)
    names_only = {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["pr-7.preview.example.com"]}
    assert not _may("route53:ChangeResourceRecordSets", _zone(), names_only)


@pytest.mark.parametrize(
    "role",
    [
        _role("hello-preview"),  # the environment's own path
        _role("hello-preview-web"),  # a non-preview service stack's
        _role("hello-production-pr-7-web"),
        _role("hello-production"),
        f"arn:{PARTITION}:iam::{ACCOUNT}:role/admin",
        f"arn:{PARTITION}:iam::{ACCOUNT}:role/hello-preview-pr-7-web",  # no path: a name only
    ],
)
def test_no_role_outside_the_previews_path(role: str) -> None:
    boundary = {"iam:PermissionsBoundary": BOUNDARY}
    for action in ("CreateRole", "PutRolePolicy", "PutRolePermissionsBoundary", "DeleteRole", "PassRole"):
        assert not _may(f"iam:{action}", role, boundary), (action, role)


def test_no_preview_role_without_the_boundary_and_the_boundary_never_goes() -> None:
    role = _role(STACK)
    for action in ("CreateRole", "PutRolePolicy", "PutRolePermissionsBoundary"):
        assert not _may(f"iam:{action}", role), action
        assert not _may(f"iam:{action}", role, {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/Admin"})
    assert not _may("iam:DeleteRolePermissionsBoundary", role)
    assert not _may("iam:AttachRolePolicy", role, {"iam:PermissionsBoundary": BOUNDARY})
    for action in ("CreatePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion", "CreateUser", "CreateAccessKey"):
        assert not _may(f"iam:{action}", "*"), action


def test_nothing_of_other_environments_ecs_or_logs() -> None:
    assert not _may("ecs:RegisterTaskDefinition", _ecs("task-definition", "hello-production-web:4"))
    assert not _may("ecs:RegisterTaskDefinition", _ecs("task-definition", "hello-preview:1"))
    prod = _ecs("service", "hello-production-Cluster-Q/hello-production-web-Service-Q")
    for action in ("UpdateService", "DeleteService", "CreateService"):
        assert not _may(f"ecs:{action}", prod), action
    assert not _may("ecs:DeleteCluster", _ecs("cluster", "hello-preview-Cluster-AbC"))
    production_logs = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:hello-production-web-LogGroup-Q:*"
    assert not _may("logs:DeleteLogGroup", production_logs)
    assert not _may("logs:PutResourcePolicy", "*")


def test_other_target_groups_and_security_groups_stay_untouched() -> None:
    target_group = (
        f"arn:{PARTITION}:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/hello-Targe-9Z/73e2d6bc24d8a067"
    )
    for stack in ("hello-production-web", "hello-preview", None):
        context = _tagged(stack) if stack else {}
        for action in ("RegisterTargets", "ModifyTargetGroup", "DeleteTargetGroup", "AddTags", "RemoveTags"):
            assert not _may(f"elasticloadbalancing:{action}", target_group, context), (action, stack)
    group = f"arn:{PARTITION}:ec2:{REGION}:{ACCOUNT}:security-group/sg-0fedcba9876543210"
    for stack in ("hello-production", "hello-production-web", None):
        context = _tagged(stack) if stack else {}
        for action in (
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "DeleteSecurityGroup",
            "CreateTags",
            "DeleteTags",
        ):
            assert not _may(f"ec2:{action}", group, context), (action, stack)
    # No network, load balancer, instance or certificate of its own.
    for action in ("ec2:CreateVpc", "ec2:RunInstances", "ec2:CreateNetworkInterface", "acm:RequestCertificate"):
        assert not _may(action, "*"), action
    assert not _may("elasticloadbalancing:CreateLoadBalancer", "*")


def test_its_a_different_role_from_the_environments() -> None:
    assert (
        physical_ids(TEMPLATE)["PullRequestServiceRole"]
        != physical_ids(load_template("github-oidc.yaml"))["CloudFormationRole"]
    )
    trust = RESOURCES["PullRequestServiceRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
