"""The permissions boundary of the app stack's roles, read from the templates.

cfn/github-oidc.yaml creates the boundary; every role cfn/service.yaml creates must carry it
(cfn/environment.yaml creates none),
and the CloudFormation service role may create or change a role only with it attached.
Then whatever an executed change set writes into an app role's policies, the role can do
no more than the boundary allows: pull the app's image, write the app's logs, sign the
app's users out. moto enforces no IAM (it keeps the boundary, test_app_stack_updates.py
reads it back), so the policies are checked here.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from conftest import load_template

APP = load_template("service.yaml")
ENVIRONMENT = load_template("environment.yaml")
OIDC = load_template("github-oidc.yaml")
BOUNDARY = OIDC["Resources"]["PermissionsBoundary"]
# Everything that can give a role permissions or change what it is bounded by.
ROLE_GRANTS = {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _service_role_statements() -> list[dict[str, Any]]:
    role = OIDC["Resources"]["CloudFormationRole"]["Properties"]
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _matches(action: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def test_the_boundary_is_a_managed_policy_the_bootstrap_outputs() -> None:
    assert BOUNDARY["Type"] == "AWS::IAM::ManagedPolicy"
    assert OIDC["Outputs"]["PermissionsBoundaryArn"]["Value"] == {"Ref": "PermissionsBoundary"}


@pytest.mark.parametrize("role", sorted(n for n, r in APP["Resources"].items() if r["Type"] == "AWS::IAM::Role"))
def test_every_app_role_carries_the_boundary(role: str) -> None:
    assert APP["Resources"][role]["Properties"].get("PermissionsBoundary") == {"Ref": "PermissionsBoundaryArn"}
    assert "Default" not in APP["Parameters"]["PermissionsBoundaryArn"], "required: no role without a boundary"


def test_the_environment_creates_no_role() -> None:
    # Its resources act with CloudFormation's role or their service-linked roles; a role
    # here would need the boundary parameter too.
    assert not [n for n, r in ENVIRONMENT["Resources"].items() if r["Type"].startswith("AWS::IAM::")]


def test_the_boundary_allows_no_iam_no_role_assumption_and_no_wildcard_action() -> None:
    statements = BOUNDARY["Properties"]["PolicyDocument"]["Statement"]
    actions = {a for s in statements for a in _listed(s["Action"])}
    assert all(s["Effect"] == "Allow" for s in statements)
    assert not [a for a in actions if a.split(":")[0] in ("iam", "sts", "organizations")], actions
    assert not [a for a in actions if "*" in a], actions
    # Resource "*" only where the API has no resource scope (the registry login).
    unscoped = {a for s in statements if s["Resource"] == "*" for a in _listed(s["Action"])}
    assert unscoped == {"ecr:GetAuthorizationToken"}


@pytest.mark.parametrize("role", ["ExecutionRole", "TaskRole"])
def test_the_boundary_still_allows_what_each_app_role_needs(role: str) -> None:
    # A boundary that forgot one would break the app only on AWS (moto enforces no IAM).
    allowed = [a for s in BOUNDARY["Properties"]["PolicyDocument"]["Statement"] for a in _listed(s["Action"])]
    policies = APP["Resources"][role]["Properties"]["Policies"]
    # TaskRole's policies depend on Login: both branches of the Fn::If.
    if isinstance(policies, dict):
        policies = [p for branch in policies["Fn::If"][1:] if isinstance(branch, list) for p in branch]
    needed = {a for p in policies for s in p["PolicyDocument"]["Statement"] for a in _listed(s["Action"])}
    assert needed
    missing = sorted(a for a in needed if not _matches(a, allowed))
    assert not missing, f"the boundary would take {missing} from {role}"


def test_the_service_role_creates_and_changes_roles_only_with_the_boundary() -> None:
    granting = [s for s in _service_role_statements() if s["Effect"] == "Allow" and _grants_roles(s)]
    assert granting, "the service role must still create the app's roles"
    for statement in granting:
        assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": {"Ref": "PermissionsBoundary"}}}
        assert set(_listed(statement["Action"])) <= ROLE_GRANTS
    allowed = {a for s in granting for a in _listed(s["Action"])}
    assert allowed == {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"}


def _grants_roles(statement: dict[str, Any]) -> bool:
    return any(_matches(grant, _listed(statement["Action"])) for grant in ROLE_GRANTS)


def test_the_service_role_can_never_remove_a_boundary() -> None:
    statements = _service_role_statements()
    removing = "iam:DeleteRolePermissionsBoundary"
    assert not [s for s in statements if s["Effect"] == "Allow" and _matches(removing, _listed(s["Action"]))]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert _listed(deny["Action"]) == [removing]
    assert deny["Resource"] == "*" and "Condition" not in deny


def test_the_service_role_cannot_touch_the_boundary_policy_itself() -> None:
    # The boundary is only as good as its document: no managed-policy writes at all.
    policy_writes = ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:CreatePolicy"]
    for statement in _service_role_statements():
        if statement["Effect"] == "Allow":
            assert not [a for a in policy_writes if _matches(a, _listed(statement["Action"]))], statement.get("Sid")
