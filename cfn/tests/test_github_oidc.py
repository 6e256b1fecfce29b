"""cfn/github-oidc.yaml deployed on the moto launcher, checked through the IAM API: who may
assume the deploy role, and that it can do only what the deployer needs.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import botocore.session
import pytest
from botocore.exceptions import ClientError
from conftest import ROOT, deploy, load_template, outputs, resources, template_text

GITHUB = "token.actions.githubusercontent.com"
# What only the deploy role may do: change the stack itself.
DEPLOY_ONLY = {
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteStack",
    "cloudformation:CancelUpdateStack",
    "cloudformation:RollbackStack",
    "cloudformation:UpdateTerminationProtection",
    # Only an executed change set deploys an ECS service whose events the deployer shows.
    "ecs:DescribeServices",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
}


def _document(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else json.loads(unquote(raw))


def _bootstrap(aws: Any, stack_name: str, values: dict[str, str]) -> dict[str, Any]:
    created = deploy(aws("cloudformation"), stack_name, template_text("github-oidc.yaml"), values, create=True)
    ids = resources(aws("cloudformation"), stack_name)
    iam = aws("iam")
    deploy_role = iam.get_role(RoleName=ids["DeployRole"])["Role"]
    [policy_name] = iam.list_role_policies(RoleName=ids["DeployRole"])["PolicyNames"]
    policy = iam.get_role_policy(RoleName=ids["DeployRole"], PolicyName=policy_name)["PolicyDocument"]
    return {
        "iam": iam,
        "outputs": outputs(created),
        "ids": ids,
        "trust": _document(deploy_role["AssumeRolePolicyDocument"]),
        "policy": {s["Sid"]: s for s in _document(policy)["Statement"]},
    }


@pytest.fixture(scope="module")
def with_new_provider(aws: Any) -> dict[str, Any]:
    return _bootstrap(aws, "github-oidc", {"GitHubOrg": "octo-org", "GitHubRepo": "web-app"})


def test_creates_the_github_identity_provider(aws: Any, with_new_provider: dict[str, Any]) -> None:
    arn = with_new_provider["outputs"]["OidcProviderArn"]
    provider = aws("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert provider["Url"].removeprefix("https://") == GITHUB
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]


def test_with_the_defaults_only_the_production_environment_may_assume_the_deploy_role(
    with_new_provider: dict[str, Any],
) -> None:
    # deploy.yml always runs its apply job in an environment, production by default: its
    # token's subject names the environment, never the branch.
    [statement] = with_new_provider["trust"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": with_new_provider["outputs"]["OidcProviderArn"]}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:sub": "repo:octo-org/web-app:environment:production",
        }
    }
    # deploy.yml's plan job (pushes, dry runs, pr.yml's previews) runs in the preview
    # environment, with the plan role.
    plan_role = with_new_provider["ids"]["PlanRole"]
    [trusted] = _trust_of(with_new_provider["iam"], plan_role)
    assert trusted["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:octo-org/web-app:environment:preview"


def _trust_of(iam: Any, role: str) -> list[dict[str, Any]]:
    return _document(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])["Statement"]


@pytest.mark.parametrize(
    "stack_name, values, subject",
    [
        # A workflow whose deploy job has no environment: the branch is the subject.
        ("trust-main", {"Environment": ""}, "repo:octo-org/web-app:ref:refs/heads/main"),
        (
            "trust-release",
            {"Environment": "", "Branch": "release/v2"},
            "repo:octo-org/web-app:ref:refs/heads/release/v2",
        ),
        # With an environment, ONLY the environment: a job on the branch without the
        # environment would otherwise get the role and skip the environment's approval.
        (
            "trust-staging",
            {"Environment": "staging", "Branch": "release/v2"},
            "repo:octo-org/web-app:environment:staging",
        ),
    ],
)
def test_the_deploy_role_trusts_exactly_one_subject(
    aws: Any, with_new_provider: dict[str, Any], stack_name: str, values: dict[str, str], subject: str
) -> None:
    existing = with_new_provider["outputs"]["OidcProviderArn"]
    bootstrapped = _bootstrap(
        aws,
        stack_name,
        {
            "GitHubOrg": "octo-org",
            "GitHubRepo": "web-app",
            "PlanEnvironment": "",
            "CreateOidcProvider": "false",
            "OidcProviderArn": existing,
            **values,
        },
    )
    [statement] = bootstrapped["trust"]["Statement"]
    assert statement["Condition"]["StringEquals"][f"{GITHUB}:sub"] == subject
    assert "PlanRole" not in bootstrapped["ids"]


def test_deploy_role_pushes_images_and_runs_change_sets_on_the_app_stack_only(
    with_new_provider: dict[str, Any],
) -> None:
    policy = with_new_provider["policy"]
    assert set(policy) == {
        "EcrLogin",
        "EcrEnsureRepository",
        "EcrPushImage",
        "AppStackChangeSetsWithServiceRole",
        "AppStackChangeSets",
        "AppStackOperationEvents",
        "AppServiceEvents",
        "AppStoppedTasks",
        "AppListTasks",
        "CheckHostedZone",
        "PassRoleToCloudFormation",
    }
    assert all(s["Effect"] == "Allow" for s in policy.values())
    # On every resource only: the registry login, which has no resource scope, and
    # ecs:ListTasks, which authorizes on container instances and so is scoped by a
    # condition on the app's clusters instead.
    assert [sid for sid, s in policy.items() if s["Resource"] == "*"] == ["EcrLogin", "AppListTasks"]
    assert "ecs:cluster" in policy["AppListTasks"]["Condition"]["ArnLike"]
    assert policy["EcrPushImage"]["Resource"].endswith(":repository/alb-cognito-app*")
    assert "ecr:PutImage" in policy["EcrPushImage"]["Action"]
    assert policy["AppStackChangeSets"]["Resource"].endswith(":stack/alb-cognito-app/*")
    assert "cloudformation:ExecuteChangeSet" in policy["AppStackChangeSets"]["Action"]
    # Change sets only with the service role: CFN_ROLE_ARN is required.
    creating = policy["AppStackChangeSetsWithServiceRole"]
    assert creating["Action"] == "cloudformation:CreateChangeSet"
    assert creating["Resource"] == policy["AppStackChangeSets"]["Resource"]
    assert creating["Condition"] == {
        "StringEquals": {"cloudformation:RoleArn": with_new_provider["outputs"]["CloudFormationRoleArn"]}
    }
    assert not any("*" in action for s in policy.values() for action in _actions(s))


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_deploy_role_can_pass_only_the_cloudformation_role_and_only_to_cloudformation(
    aws: Any, with_new_provider: dict[str, Any]
) -> None:
    pass_role = with_new_provider["policy"]["PassRoleToCloudFormation"]
    cfn_role_arn = with_new_provider["outputs"]["CloudFormationRoleArn"]
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == cfn_role_arn
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}

    cfn_role = aws("iam").get_role(RoleName=with_new_provider["ids"]["CloudFormationRole"])["Role"]
    [trusted] = _document(cfn_role["AssumeRolePolicyDocument"])["Statement"]
    assert trusted["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert with_new_provider["outputs"]["DeployRoleArn"].endswith(f":role/{with_new_provider['ids']['DeployRole']}")


def test_an_existing_provider_is_reused(aws: Any, with_new_provider: dict[str, Any]) -> None:
    existing = with_new_provider["outputs"]["OidcProviderArn"]
    bootstrapped = _bootstrap(
        aws,
        "github-oidc-production",
        {
            "GitHubOrg": "octo-org",
            "GitHubRepo": "web-app",
            "Branch": "release/v2",
            "Environment": "production",
            "CreateOidcProvider": "false",
            "OidcProviderArn": existing,
        },
    )
    assert "GitHubOidcProvider" not in bootstrapped["ids"]
    assert bootstrapped["outputs"]["OidcProviderArn"] == existing
    [statement] = bootstrapped["trust"]["Statement"]
    assert statement["Principal"] == {"Federated": existing}
    assert statement["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:octo-org/web-app:environment:production"


def test_previews_get_a_plan_role_that_cannot_deploy_delete_or_push(
    aws: Any, with_new_provider: dict[str, Any]
) -> None:
    values = {"GitHubOrg": "octo-org", "GitHubRepo": "previews", "Environment": "production"}
    existing = with_new_provider["outputs"]["OidcProviderArn"]
    values |= {"PlanEnvironment": "preview", "CreateOidcProvider": "false", "OidcProviderArn": existing}
    bootstrapped = _bootstrap(aws, "github-oidc-previews", values)
    iam = aws("iam")
    plan_role = bootstrapped["ids"]["PlanRole"]
    assert bootstrapped["outputs"]["PlanRoleArn"].endswith(f":role/{plan_role}")

    [trusted] = _document(iam.get_role(RoleName=plan_role)["Role"]["AssumeRolePolicyDocument"])["Statement"]
    assert trusted["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:octo-org/previews:environment:preview"
    [deploy_trust] = bootstrapped["trust"]["Statement"]
    assert deploy_trust["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:octo-org/previews:environment:production"

    [name] = iam.list_role_policies(RoleName=plan_role)["PolicyNames"]
    statements = _document(iam.get_role_policy(RoleName=plan_role, PolicyName=name)["PolicyDocument"])["Statement"]
    actions = {action for statement in statements for action in _actions(statement)}
    assert "cloudformation:CreateChangeSet" in actions
    assert not actions & DEPLOY_ONLY
    # Nothing a pull request runs can change what production pulls.
    assert {a for a in actions if a.startswith("ecr:")} == {
        "ecr:DescribeRepositories",
        "ecr:DescribeImages",
        "ecr:DescribeRegistry",
    }


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"CreateOidcProvider": "false"},
            "With CreateOidcProvider false, pass the existing provider's OidcProviderArn.",
        ),
        (
            {"Environment": "production", "PlanEnvironment": "production"},
            "PlanEnvironment must differ from Environment",
        ),
        ({"Branch": "*"}, "Parameter 'Branch' failed to satisfy constraint:"),
    ],
)
def test_unsafe_or_incomplete_choices_are_refused(aws: Any, values: dict[str, str], message: str) -> None:
    with pytest.raises(ClientError) as refused:
        stack_values = {"GitHubOrg": "octo-org", "GitHubRepo": "web-app", **values}
        deploy(aws("cloudformation"), "github-oidc-refused", template_text("github-oidc.yaml"), stack_values, True)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"].startswith(message)


def _sdk_operations_the_deployer_calls() -> dict[str, set[str]]:
    """IAM actions for every CloudFormation, ECR, ECS, Route 53 and Cognito SDK call in deployer/ and oci-push/."""
    sources = [p for crate in ("deployer", "oci-push") for p in (ROOT / crate / "src").rglob("*.rs")]
    called = {m for p in sources for m in re.findall(r"\.([a-z]+(?:_[a-z]+)+)\(\)", p.read_text())}
    pascal = {"".join(part.title() for part in name.split("_")) for name in called}
    models = botocore.session.get_session()
    return {
        service: pascal & set(models.get_service_model(service).operation_names)
        for service in ("cloudformation", "ecr", "ecs", "route53", "cognito-idp")
    }


def _allowed_actions(role: str) -> set[str]:
    properties = load_template("github-oidc.yaml")["Resources"][role]["Properties"]
    return {
        action
        for policy in properties["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in _actions(statement)
    }


# The plan role reads ECR only: the dry run must not push (see test_template_static.py).
ECR_WRITES = {
    f"ecr:{op}"
    for op in botocore.session.get_session().get_service_model("ecr").operation_names
    if not re.match(r"(Describe|List|BatchGet|BatchCheck)", op)
}


@pytest.mark.parametrize("role, not_needed", [("DeployRole", set()), ("PlanRole", DEPLOY_ONLY | ECR_WRITES)])
def test_roles_allow_every_cloudformation_and_ecr_call_the_deployer_makes(role: str, not_needed: set[str]) -> None:
    calls = _sdk_operations_the_deployer_calls()
    assert calls["cloudformation"], "found no CloudFormation calls in deployer/src: has the code moved?"
    needed = {f"{service}:{op}" for service, ops in calls.items() for op in ops} - not_needed
    missing = sorted(needed - _allowed_actions(role))
    assert not missing, f"cfn/github-oidc.yaml {role} must allow {missing} (the deployer calls them)"


@pytest.fixture(scope="module")
def rerun(aws: Any, with_new_provider: dict[str, Any]) -> dict[str, Any]:
    """A bootstrap that the tests below re-run with changed parameters, in file order."""
    values = {
        "GitHubOrg": "octo-org",
        "GitHubRepo": "rerun",
        "CreateOidcProvider": "false",
        "OidcProviderArn": with_new_provider["outputs"]["OidcProviderArn"],
    }
    _bootstrap(aws, "github-oidc-rerun", values)
    return {"values": values}


def _rerun(aws: Any, rerun: dict[str, Any], **changes: str) -> dict[str, Any]:
    rerun["values"] = {**rerun["values"], **changes}
    cfn = aws("cloudformation")
    updated = deploy(cfn, "github-oidc-rerun", template_text("github-oidc.yaml"), rerun["values"], create=False)
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    ids = resources(cfn, "github-oidc-rerun")
    iam = aws("iam")
    [name] = iam.list_role_policies(RoleName=ids["DeployRole"])["PolicyNames"]
    policy = iam.get_role_policy(RoleName=ids["DeployRole"], PolicyName=name)["PolicyDocument"]
    return {
        "trust": _trust_of(iam, ids["DeployRole"]),
        "policy": {s["Sid"]: s for s in _document(policy)["Statement"]},
        "plan_trust": _trust_of(iam, ids["PlanRole"]) if "PlanRole" in ids else None,
    }


def test_rerunning_the_bootstrap_with_new_environments_changes_the_trust(aws: Any, rerun: dict[str, Any]) -> None:
    after = _rerun(aws, rerun, Environment="live", PlanEnvironment="review")
    [statement] = after["trust"]
    assert statement["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:octo-org/rerun:environment:live"
    [planned] = after["plan_trust"]
    assert planned["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:octo-org/rerun:environment:review"
    after = _rerun(aws, rerun, Environment="", Branch="trunk", GitHubRepo="renamed")
    [statement] = after["trust"]
    assert statement["Condition"]["StringEquals"][f"{GITHUB}:sub"] == "repo:octo-org/renamed:ref:refs/heads/trunk"


def test_rerunning_the_bootstrap_with_new_names_moves_the_permissions(aws: Any, rerun: dict[str, Any]) -> None:
    policy = _rerun(aws, rerun, AppStackName="other-app", EcrRepositoryPrefix="other")["policy"]
    assert policy["AppStackChangeSets"]["Resource"].endswith(":stack/other-app/*")
    assert policy["AppStackChangeSetsWithServiceRole"]["Resource"].endswith(":stack/other-app/*")
    assert policy["EcrPushImage"]["Resource"].endswith(":repository/other*")


def test_dropping_the_plan_role_is_refused_by_the_local_aws_with_the_reason(aws: Any, rerun: dict[str, Any]) -> None:
    cfn = aws("cloudformation")
    created = cfn.create_change_set(
        StackName="github-oidc-rerun",
        ChangeSetName="drop-plan-role",
        ChangeSetType="UPDATE",
        TemplateBody=template_text("github-oidc.yaml"),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in {**rerun["values"], "PlanEnvironment": ""}.items()
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    described = cfn.describe_change_set(ChangeSetName=created["Id"])
    assert described["Status"] == "FAILED"
    assert (
        "cannot emulate adding or removing PlanRole (AWS::IAM::Role) when condition HasPlanRole"
        in (described["StatusReason"])
    )
