"""The CloudFormation service role allows every permission the resource handlers of the
environment and service stacks need, read from AWS's own resource provider schemas as
bundled with the installed cfn-lint (`handlers.{create,read,update,delete}.permissions`).
A type whose schema lists no handlers (a legacy type CloudFormation runs itself, such as
ListenerCertificate) needs its API calls written out in LEGACY.

CloudFormation calls each handler with the service role's credentials; a missing
permission surfaces only on AWS, often at teardown (DELETE_FAILED). moto enforces no IAM,
so this is checked here: a new resource type in environment.yaml or service.yaml fails
this test until the role covers its handlers.
"""

from __future__ import annotations

import fnmatch
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint.data.AdditionalSpecs
import cfnlint.data.schemas
import pytest
from conftest import load_template, template_text

SCHEMAS = Path(cfnlint.data.schemas.__file__).parent
REGION = "eu-west-1"
HANDLERS = ("create", "read", "update", "delete")

# Handler permissions the role leaves out on purpose, each with its reason. Everything
# else a handler lists must be allowed.
NOT_NEEDED = {
    # Customer managed KMS keys: the template uses none (pool, cluster, logs use AWS keys).
    **{
        f"kms:{a}": "no customer managed KMS key in the templates"
        for a in (
            "CreateGrant",
            "Decrypt",
            "DescribeKey",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
        )
    },
    # Application Auto Scaling of Lambda functions, not of ECS services.
    **{
        f"lambda:{a}ProvisionedConcurrencyConfig": "the scalable target is an ECS service, not a Lambda function"
        for a in ("Get", "Put", "Delete")
    },
    # IPAM pools: the VPC's CIDR block is given (no Ipv4IpamPoolId).
    "ec2:AllocateIpamPoolCidr": "the VPC's CIDR is given, not allocated from an IPAM pool",
    # Certificates from a private CA; ours is a public ACM certificate.
    "acm-pca:IssueCertificate": "public certificate (no CertificateAuthorityArn)",
    "acm-pca:GetCertificate": "public certificate (no CertificateAuthorityArn)",
    # Custom domains for the hosted UI live on CloudFront; ours is a prefix domain.
    "cloudfront:updateDistribution": "prefix domain (no CustomDomainConfig)",
    # Log delivery to Firehose or S3: the log group delivers nowhere.
    "firehose:TagDeliveryStream": "no log delivery configured on the log group",
    "s3:REST.PUT.OBJECT": "not an IAM action (an S3 REST operation name in the schema)",
    # Managed policies: app roles have inline policies only, and allowing AttachRolePolicy
    # would let the stack attach AdministratorAccess to them.
    "iam:AttachRolePolicy": "app roles use inline Policies only (no ManagedPolicyArns)",
    # Every app role keeps the bootstrap's boundary (test_permissions_boundary.py): the
    # service role is denied removing it. (PutRolePermissionsBoundary is allowed, only
    # with that boundary.)
    "iam:DeleteRolePermissionsBoundary": "denied on purpose: a change set must never free a role of its boundary",
}

# What one role leaves out beyond NOT_NEEDED. The previews' role: account-level log
# settings (resource and index policies, log delivery), which accept only Resource "*"
# and so could not be limited to the previews' log groups; service.yaml's log group uses
# none of them.
ROLE_NOT_NEEDED = {
    "CloudFormationRole": {},
    "PullRequestServiceRole": {
        f"logs:{a}": "account-level, Resource '*' only; the log group uses none"
        for a in (
            "CreateLogDelivery",
            "PutResourcePolicy",
            "DeleteResourcePolicy",
            "DescribeResourcePolicies",
            "PutIndexPolicy",
            "DeleteIndexPolicy",
            "DescribeIndexPolicies",
        )
    },
}


# Legacy types (no handlers in their schema): the calls CloudFormation makes for them,
# from the ELB API reference. A service stack adds its certificate to the environment's
# listener with these.
LEGACY = {
    "AWS::ElasticLoadBalancingV2::ListenerCertificate": {
        "elasticloadbalancing:AddListenerCertificates": {"create", "update"},
        "elasticloadbalancing:RemoveListenerCertificates": {"update", "delete"},
        "elasticloadbalancing:DescribeListenerCertificates": {"read"},
    },
}
TEMPLATES = ("environment.yaml", "service.yaml")

# The service roles and the stacks they run: the environment's CloudFormationRole runs
# the environment and its service stacks; PullRequestServiceRole only previews' service
# stacks, which never own a certificate (the environment's wildcard covers every preview
# host: `CreateCertificate=false`), so it has no ACM and no listener certificates.
ROLES = {
    "CloudFormationRole": ("github-oidc.yaml", TEMPLATES, ()),
    "PullRequestServiceRole": (
        "pull-request-previews.yaml",
        ("service.yaml",),
        ("AWS::CertificateManager::Certificate", "AWS::ElasticLoadBalancingV2::ListenerCertificate"),
    ),
}


@cache
def _schema(resource_type: str) -> dict[str, Any]:
    providers = json.loads((SCHEMAS / "providers" / f"{REGION}.json").read_text())
    assert resource_type in providers, f"cfn-lint has no provider schema for {resource_type} in {REGION}"
    return json.loads((SCHEMAS / "resources" / f"{providers[resource_type]}.json").read_text())


def _app_types(role: str = "CloudFormationRole") -> list[str]:
    _, templates, excluded = ROLES[role]
    found = {t for name in templates for t in re.findall(r"(?m)^    Type: (AWS::\S+)$", template_text(name))}
    return sorted(found - set(excluded))


def _role_types() -> list[tuple[str, str]]:
    return [(role, t) for role in ROLES for t in _app_types(role)]


@cache
def _statements_of(role: str) -> tuple[dict[str, Any], ...]:
    template, _, _ = ROLES[role]
    properties = load_template(template)["Resources"][role]["Properties"]
    return tuple(s for p in properties["Policies"] for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Allow")


def _service_role_statements(role: str = "CloudFormationRole") -> list[dict[str, Any]]:
    return list(_statements_of(role))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def _actions_without_resource_scope() -> frozenset[str]:
    """IAM actions that accept only Resource "*" (no resource types in AWS's authorization data)."""
    data = json.loads((Path(cfnlint.data.AdditionalSpecs.__file__).parent / "Policies.json").read_text())
    return frozenset(
        f"{service}:{action}"
        for service, spec in data.items()
        if isinstance(spec, dict)
        for action, details in (spec.get("Actions") or {}).items()
        if not (details or {}).get("Resources")
    )


def _covering(permission: str, role: str = "CloudFormationRole") -> list[dict[str, Any]]:
    # IAM action names are case-insensitive; patterns may end in * (ec2:*).
    return [
        s
        for s in _service_role_statements(role)
        if any(fnmatch.fnmatchcase(permission.lower(), pattern.lower()) for pattern in _listed(s["Action"]))
    ]


def _needed(resource_type: str) -> dict[str, set[str]]:
    """permission -> the handlers that list it."""
    if resource_type in LEGACY:
        assert not _schema(resource_type).get("handlers"), f"{resource_type} has handlers now: drop it from LEGACY"
        return LEGACY[resource_type]
    assert _schema(resource_type).get("handlers"), f"{resource_type} lists no handlers: write its calls in LEGACY"
    needed: dict[str, set[str]] = {}
    for handler, spec in (_schema(resource_type).get("handlers") or {}).items():
        if handler in HANDLERS:
            for permission in spec.get("permissions") or []:
                needed.setdefault(permission, set()).add(handler)
    return needed


@pytest.mark.parametrize("role, resource_type", _role_types())
def test_the_service_role_allows_every_handler_permission(role: str, resource_type: str) -> None:
    missing = {
        permission: sorted(handlers)
        for permission, handlers in _needed(resource_type).items()
        if permission not in NOT_NEEDED and permission not in ROLE_NOT_NEEDED[role] and not _covering(permission, role)
    }
    assert not missing, (
        f"cfn/{ROLES[role][0]} {role} lacks what the {resource_type} handlers call: {missing} "
        "(add them, or to NOT_NEEDED with the reason the template never needs them)"
    )


@pytest.mark.parametrize("role, resource_type", _role_types())
def test_actions_without_a_resource_scope_are_allowed_on_every_resource(role: str, resource_type: str) -> None:
    unscoped = _actions_without_resource_scope()
    wrong = sorted(
        permission
        for permission in _needed(resource_type)
        if permission not in NOT_NEEDED
        and permission not in ROLE_NOT_NEEDED[role]
        and permission.lower() in {a.lower() for a in unscoped}
        and not any("*" in _listed(s["Resource"]) for s in _covering(permission, role))
    )
    assert not wrong, f"{wrong} accept only Resource '*': a narrower Resource never matches on AWS"


def test_every_exception_is_still_listed_by_some_handler() -> None:
    listed = {permission for t in _app_types() for permission in _needed(t)}
    stale = sorted(set(NOT_NEEDED) - listed)
    assert not stale, f"NOT_NEEDED names permissions no handler of the templates lists any more: {stale}"


def test_previews_need_no_certificate_permissions() -> None:
    # The exclusion above is real: no ACM action and no listener certificate call at all.
    actions = {a.lower() for s in _service_role_statements("PullRequestServiceRole") for a in _listed(s["Action"])}
    assert not [a for a in actions if a.startswith("acm") or "listenercertificates" in a], actions


def test_the_templates_use_listener_certificates_and_cross_stack_egress() -> None:
    # What the split into environment and service stacks added; both are checked above.
    assert {"AWS::ElasticLoadBalancingV2::ListenerCertificate", "AWS::EC2::SecurityGroupEgress"} <= set(_app_types())
