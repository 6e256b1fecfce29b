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


# The repository's numeric ids (gh api repos/OWNER/REPO --jq '.owner.id, .id').
IDS = {"GitHubOwnerId": "9919", "GitHubRepoId": "1296269"}
BASE = {"GitHubOrg": "octo-org", "GitHubRepo": "web-app", **IDS}


def _document(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else json.loads(unquote(raw))


def _trust_of(iam: Any, role: str) -> list[dict[str, Any]]:
    return _document(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])["Statement"]


def _policy_of(iam: Any, role: str) -> dict[str, dict[str, Any]]:
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policy = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return {s["Sid"]: s for s in _document(policy)["Statement"]}


def _bootstrap(aws: Any, stack_name: str, values: dict[str, str], create: bool = True) -> dict[str, Any]:
    created = deploy(aws("cloudformation"), stack_name, template_text("github-oidc.yaml"), values, create=create)
    ids = resources(aws("cloudformation"), stack_name)
    iam = aws("iam")
    return {
        "iam": iam,
        "outputs": outputs(created),
        "ids": ids,
        "trust": {role: _trust_of(iam, ids[role]) for role in ("DeployRole", "PlanRole", "PreviewRole")},
        "policy": {role: _policy_of(iam, ids[role]) for role in ("DeployRole", "PlanRole", "PreviewRole")},
    }


@pytest.fixture(scope="module")
def with_new_provider(aws: Any) -> dict[str, Any]:
    return _bootstrap(aws, "github-oidc", BASE)


@pytest.fixture(scope="module")
def preview_environment(aws: Any, with_new_provider: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap of the environment with `previews:`: its github-oidc stack, then
    (deployer bootstrap does both) cfn/pull-request-previews.yaml with that stack's outputs."""
    values = {
        **BASE,
        "CreateOidcProvider": "false",
        "OidcProviderArn": with_new_provider["outputs"]["OidcProviderArn"],
        "EnvironmentName": "preview",
        "AppStackName": "hello-preview",
        "EcrRepositoryPrefix": "hello",
    }
    bootstrapped = _bootstrap(aws, "github-oidc-preview", values)
    pull_requests = {
        **BASE,
        "OidcProviderArn": values["OidcProviderArn"],
        "AppStackName": "hello-preview",
        "EcrRepositoryPrefix": "hello",
        "PermissionsBoundaryArn": bootstrapped["outputs"]["PermissionsBoundaryArn"],
        "HostedZoneId": "Z0PREVIEW",
        "PreviewDomain": "preview.example.com",
    }
    text = template_text("pull-request-previews.yaml")
    created = deploy(aws("cloudformation"), "github-oidc-preview-pull-requests", text, pull_requests, create=True)
    ids = resources(aws("cloudformation"), "github-oidc-preview-pull-requests")
    bootstrapped["outputs"].update(outputs(created))
    bootstrapped["ids"].update(ids)
    iam = bootstrapped["iam"]
    for role in ("PullRequestRole", "PullRequestServiceRole"):
        bootstrapped["trust"][role] = _trust_of(iam, ids[role])
        bootstrapped["policy"][role] = _policy_of(iam, ids[role])
    return bootstrapped


def test_without_previews_there_is_no_pull_request_role(with_new_provider: dict[str, Any]) -> None:
    assert "PullRequestRole" not in with_new_provider["ids"]
    assert "PullRequestRoleArn" not in with_new_provider["outputs"]


def test_the_previews_service_role_is_scoped_to_the_preview_environment(
    preview_environment: dict[str, Any],
) -> None:
    # Deployed and read back through IAM (test_pull_request_service_role.py evaluates it).
    arn = preview_environment["outputs"]["PullRequestServiceRoleArn"]
    assert arn.endswith(f":role/{preview_environment['ids']['PullRequestServiceRole']}")
    assert arn != preview_environment["outputs"]["CloudFormationRoleArn"]
    [trusted] = preview_environment["trust"]["PullRequestServiceRole"]
    assert trusted["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    policy = preview_environment["policy"]["PullRequestServiceRole"]
    assert [r.split(":listener")[1] for r in policy["PreviewListenerRules"]["Resource"]] == [
        "/app/hello-preview/*",
        "-rule/app/hello-preview/*",
    ]
    assert policy["PreviewUserPoolClients"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/deployer:environment-stack": "hello-preview"}
    }
    records = policy["PreviewRecords"]
    assert records["Resource"].endswith(":hostedzone/Z0PREVIEW")
    assert records["Condition"]["ForAllValues:StringLike"] == {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": "*.preview.example.com"
    }
    assert set(records["Condition"]["Null"].values()) == {"false"}
    boundary = preview_environment["outputs"]["PermissionsBoundaryArn"]
    assert policy["PreviewRolesOnlyWithBoundary"]["Condition"] == {
        "StringEquals": {"iam:PermissionsBoundary": boundary}
    }
    assert policy["PreviewRolesOnlyWithBoundary"]["Resource"].endswith(":role/hello-preview-pr-*/*")
    assert policy["KeepTheBoundary"]["Effect"] == "Deny"


def test_the_pull_request_role_trusts_pr_yml_of_pull_requests_and_prune_on_main(
    preview_environment: dict[str, Any],
) -> None:
    arn = preview_environment["outputs"]["PullRequestRoleArn"]
    assert arn.endswith(f":role/{preview_environment['ids']['PullRequestRole']}")
    pull_requests, prune = preview_environment["trust"]["PullRequestRole"]
    assert pull_requests["Condition"] == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:repository_id": "1296269",
            f"{GITHUB}:sub": [
                "repo:octo-org/web-app:pull_request",
                "repo:octo-org@9919/web-app@1296269:pull_request",
            ],
        },
        "StringLike": {
            f"{GITHUB}:ref": "refs/pull/*/merge",
            f"{GITHUB}:job_workflow_ref": "octo-org/web-app/.github/workflows/pr.yml@refs/pull/*/merge",
        },
    }
    assert prune["Condition"] == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:repository_id": "1296269",
            f"{GITHUB}:ref": "refs/heads/main",
            f"{GITHUB}:job_workflow_ref": "octo-org/web-app/.github/workflows/preview-prune.yml@refs/heads/main",
            f"{GITHUB}:sub": [
                "repo:octo-org/web-app:ref:refs/heads/main",
                "repo:octo-org@9919/web-app@1296269:ref:refs/heads/main",
            ],
        }
    }
    for statement in (pull_requests, prune):
        assert statement["Principal"] == {"Federated": preview_environment["outputs"]["OidcProviderArn"]}


def test_the_pull_request_role_reaches_only_preview_stacks_and_preview_repositories(
    preview_environment: dict[str, Any],
) -> None:
    policy = preview_environment["policy"]["PullRequestRole"]
    assert all(s["Effect"] == "Allow" for s in policy.values())
    # Every CloudFormation statement names the preview stacks, or reads the environment stack.
    for sid, statement in policy.items():
        if sid in ("FindPreviewStacks", "ReadEnvironmentStack") or not any(
            a.startswith("cloudformation:") for a in _actions(statement)
        ):
            continue
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        stacks = [r.split(":stack/")[1] for r in resources if ":stack/" in r]
        assert stacks == ["hello-preview-pr-*/*"], sid
    assert policy["PreviewStacks"]["Resource"].endswith(":stack/hello-preview-pr-*/*")
    assert "cloudformation:ExecuteChangeSet" in policy["PreviewStacks"]["Action"]
    # Change set ARNs (which carry no stack name) only for reading events.
    assert policy["PreviewEvents"]["Action"] == "cloudformation:DescribeEvents"
    assert policy["PreviewChangeSets"]["Resource"].endswith(":stack/hello-preview-pr-*/*")
    assert policy["ReadEnvironmentStack"]["Action"] == "cloudformation:DescribeStacks"
    assert policy["ReadEnvironmentStack"]["Resource"].endswith(":stack/hello-preview/*")
    # Only the previews' own service role, never the environment's CloudFormationRole.
    assert policy["PreviewChangeSets"]["Condition"] == {
        "StringEquals": {"cloudformation:RoleArn": preview_environment["outputs"]["PullRequestServiceRoleArn"]},
        # No resource import (into a preview stack, then deleted with it).
        "Null": {"cloudformation:ImportResourceTypes": "true"},
    }
    assert policy["PassPreviewServiceRole"]["Resource"] == preview_environment["outputs"]["PullRequestServiceRoleArn"]
    assert policy["EcrPreviewRepositories"]["Resource"].endswith(":repository/hello*-preview")
    # The only unscoped actions: the registry login, ListStacks and reads without a resource scope.
    unscoped = {a for s in policy.values() if s["Resource"] == "*" for a in _actions(s)}
    assert unscoped == {
        "ecr:GetAuthorizationToken",
        "ecr:DescribeRegistry",
        "cloudformation:ListStacks",
        "ecs:ListTasks",
        "ecs:ListTaskDefinitions",
        "ecs:DescribeTaskDefinition",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTargetGroups",
        "cognito-idp:DescribeUserPoolDomain",
    }
    assert "ecs:cluster" in policy["PreviewListTasks"]["Condition"]["ArnLike"]
    assert not any("*" in action for s in policy.values() for action in _actions(s))


def test_creates_the_github_identity_provider(aws: Any, with_new_provider: dict[str, Any]) -> None:
    arn = with_new_provider["outputs"]["OidcProviderArn"]
    provider = aws("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert provider["Url"].removeprefix("https://") == GITHUB
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]


def test_the_deploy_role_trusts_only_main_deploy_yml_in_production_of_this_repository_id(
    with_new_provider: dict[str, Any],
) -> None:
    [statement] = with_new_provider["trust"]["DeployRole"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": with_new_provider["outputs"]["OidcProviderArn"]}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:repository_id": "1296269",
            f"{GITHUB}:environment": "production",
            f"{GITHUB}:ref": "refs/heads/main",
            f"{GITHUB}:job_workflow_ref": "octo-org/web-app/.github/workflows/deploy.yml@refs/heads/main",
            # Both subject forms: the immutable one is the default for new repositories.
            f"{GITHUB}:sub": [
                "repo:octo-org/web-app:environment:production",
                "repo:octo-org@9919/web-app@1296269:environment:production",
            ],
        }
    }


def test_the_plan_role_trusts_main_deploy_yml_without_an_environment(with_new_provider: dict[str, Any]) -> None:
    [statement] = with_new_provider["trust"]["PlanRole"]
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:repository_id": "1296269",
            f"{GITHUB}:ref": "refs/heads/main",
            f"{GITHUB}:job_workflow_ref": "octo-org/web-app/.github/workflows/deploy.yml@refs/heads/main",
            f"{GITHUB}:sub": [
                "repo:octo-org/web-app:ref:refs/heads/main",
                "repo:octo-org@9919/web-app@1296269:ref:refs/heads/main",
            ],
        }
    }


def test_the_preview_role_trusts_pull_requests_running_deploy_yml(with_new_provider: dict[str, Any]) -> None:
    [statement] = with_new_provider["trust"]["PreviewRole"]
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:repository_id": "1296269",
            f"{GITHUB}:sub": [
                "repo:octo-org/web-app:pull_request",
                "repo:octo-org@9919/web-app@1296269:pull_request",
            ],
        },
        "StringLike": {f"{GITHUB}:job_workflow_ref": "octo-org/web-app/.github/workflows/deploy.yml@*"},
    }
    assert with_new_provider["outputs"]["PreviewRoleArn"].endswith(f":role/{with_new_provider['ids']['PreviewRole']}")


def test_release_and_preview_change_sets_are_told_apart_by_name(with_new_provider: dict[str, Any]) -> None:
    # Read back through IAM: the conditions as stored (test_trust_evaluator.py evaluates them).
    def names(role: str, sid: str) -> list[str]:
        value = with_new_provider["policy"][role][sid]["Condition"]["StringLike"]["cloudformation:ChangeSetName"]
        return sorted(n for n in ([value] if isinstance(value, str) else value) if not n.startswith("arn:"))

    assert names("DeployRole", "AppStackChangeSetsWithServiceRole") == ["deployer-release-*"]
    assert names("DeployRole", "ExecuteReleaseChangeSets") == ["deployer-release-*"]
    assert names("PlanRole", "AppStackPlanWithServiceRole") == ["deployer-preview-*", "deployer-release-*"]
    assert names("PlanRole", "DeletePlannedChangeSets") == ["deployer-preview-*", "deployer-release-*"]
    assert names("PreviewRole", "AppStackPreviewWithServiceRole") == ["deployer-preview-*"]
    assert names("PreviewRole", "DeletePreviewChangeSets") == ["deployer-preview-*"]


@pytest.mark.parametrize(
    "stack_name, values, subjects",
    [
        (
            "trust-release",
            {"Branch": "release/v2"},
            [
                "repo:octo-org/web-app:environment:production",
                "repo:octo-org@9919/web-app@1296269:environment:production",
            ],
        ),
        (
            "trust-staging",
            {"EnvironmentName": "staging", "Branch": "release/v2"},
            ["repo:octo-org/web-app:environment:staging", "repo:octo-org@9919/web-app@1296269:environment:staging"],
        ),
    ],
)
def test_branch_and_environment_reach_every_claim(
    aws: Any, with_new_provider: dict[str, Any], stack_name: str, values: dict[str, str], subjects: list[str]
) -> None:
    existing = with_new_provider["outputs"]["OidcProviderArn"]
    bootstrapped = _bootstrap(
        aws, stack_name, {**BASE, "CreateOidcProvider": "false", "OidcProviderArn": existing, **values}
    )
    [statement] = bootstrapped["trust"]["DeployRole"]
    equals = statement["Condition"]["StringEquals"]
    assert equals[f"{GITHUB}:sub"] == subjects
    assert equals[f"{GITHUB}:ref"] == "refs/heads/release/v2"
    assert equals[f"{GITHUB}:job_workflow_ref"] == "octo-org/web-app/.github/workflows/deploy.yml@refs/heads/release/v2"
    [planned] = bootstrapped["trust"]["PlanRole"]
    assert planned["Condition"]["StringEquals"][f"{GITHUB}:ref"] == "refs/heads/release/v2"


def test_deploy_role_pushes_images_and_runs_change_sets_on_the_app_stack_only(
    with_new_provider: dict[str, Any],
) -> None:
    policy = with_new_provider["policy"]["DeployRole"]
    assert set(policy) == {
        "EcrLogin",
        "EcrEnsureRepository",
        "EcrPushImage",
        "AppStackChangeSetsWithServiceRole",
        "ExecuteReleaseChangeSets",
        "AppStackChangeSets",
        "AppStackOperationEvents",
        "AppServiceEvents",
        "AppStoppedTasks",
        "AppListTasks",
        "CheckListenerRulePriorities",
        "ReadTaskDefinitions",
        "ReadPromotionSource",
        "CheckHostedZone",
        "CheckCognitoDomain",
        "PassRoleToCloudFormation",
    }
    assert all(s["Effect"] == "Allow" for s in policy.values())
    # On every resource only: the registry login and the Cognito domain lookup, which have
    # no resource scope, and ecs:ListTasks, which authorizes on container instances and so
    # is scoped by a condition on the app's clusters instead.
    assert [sid for sid, s in policy.items() if s["Resource"] == "*"] == [
        "EcrLogin",
        "AppListTasks",
        "CheckListenerRulePriorities",
        "ReadTaskDefinitions",
        "CheckCognitoDomain",
    ]
    # promote's read of the source environment: its service stacks, read-only (none by
    # default: `stack/-*/*` matches no stack name).
    assert policy["ReadPromotionSource"]["Action"] == "cloudformation:DescribeStacks"
    assert policy["ReadPromotionSource"]["Resource"].endswith(":stack/-*/*")
    assert "ecs:cluster" in policy["AppListTasks"]["Condition"]["ArnLike"]
    assert policy["EcrPushImage"]["Resource"].endswith(":repository/alb-cognito-app*")
    assert "ecr:PutImage" in policy["EcrPushImage"]["Action"]
    # The environment stack and its service stacks (AppStackName-*), nothing else.
    assert [r.split(":stack/")[1] for r in policy["AppStackChangeSets"]["Resource"]] == [
        "alb-cognito-app/*",
        "alb-cognito-app-*/*",
    ]
    assert "cloudformation:ExecuteChangeSet" in policy["ExecuteReleaseChangeSets"]["Action"]
    assert "cloudformation:ExecuteChangeSet" not in policy["AppStackChangeSets"]["Action"]
    # Change sets only with the service role: CFN_ROLE_ARN is required.
    creating = policy["AppStackChangeSetsWithServiceRole"]
    assert creating["Action"] == "cloudformation:CreateChangeSet"
    assert creating["Resource"] == policy["AppStackChangeSets"]["Resource"]
    assert creating["Condition"]["StringEquals"] == {
        "cloudformation:RoleArn": with_new_provider["outputs"]["CloudFormationRoleArn"]
    }
    assert not any("*" in action for s in policy.values() for action in _actions(s))


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_deploy_role_can_pass_only_the_cloudformation_role_and_only_to_cloudformation(
    aws: Any, with_new_provider: dict[str, Any]
) -> None:
    pass_role = with_new_provider["policy"]["DeployRole"]["PassRoleToCloudFormation"]
    cfn_role_arn = with_new_provider["outputs"]["CloudFormationRoleArn"]
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == cfn_role_arn
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}

    cfn_role = aws("iam").get_role(RoleName=with_new_provider["ids"]["CloudFormationRole"])["Role"]
    [trusted] = _document(cfn_role["AssumeRolePolicyDocument"])["Statement"]
    assert trusted["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert with_new_provider["outputs"]["DeployRoleArn"].endswith(f":role/{with_new_provider['ids']['DeployRole']}")


def test_the_permissions_boundary_is_created_and_named_by_the_service_role_conditions(
    aws: Any, with_new_provider: dict[str, Any]
) -> None:
    iam = aws("iam")
    arn = with_new_provider["outputs"]["PermissionsBoundaryArn"]
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    actions = {a for s in _document(version["Document"])["Statement"] for a in _actions(s)}
    assert "cognito-idp:AdminUserGlobalSignOut" in actions
    assert not [a for a in actions if a.startswith(("iam:", "sts:"))]
    service_role = _policy_of(iam, with_new_provider["ids"]["CloudFormationRole"])
    assert service_role["AppRolesOnlyWithBoundary"]["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": arn}}
    assert service_role["KeepTheBoundary"]["Effect"] == "Deny"


def test_an_existing_provider_is_reused(aws: Any, with_new_provider: dict[str, Any]) -> None:
    existing = with_new_provider["outputs"]["OidcProviderArn"]
    bootstrapped = _bootstrap(
        aws,
        "github-oidc-production",
        {**BASE, "Branch": "release/v2", "CreateOidcProvider": "false", "OidcProviderArn": existing},
    )
    assert "GitHubOidcProvider" not in bootstrapped["ids"]
    assert bootstrapped["outputs"]["OidcProviderArn"] == existing
    for role in ("DeployRole", "PlanRole", "PreviewRole"):
        [statement] = bootstrapped["trust"][role]
        assert statement["Principal"] == {"Federated": existing}, role


def test_plan_and_preview_roles_cannot_deploy_delete_or_push(with_new_provider: dict[str, Any]) -> None:
    for role in ("PlanRole", "PreviewRole"):
        statements = with_new_provider["policy"][role].values()
        actions = {action for statement in statements for action in _actions(statement)}
        assert "cloudformation:CreateChangeSet" in actions
        assert not actions & DEPLOY_ONLY, role
        # Nothing a pull request or a plan runs can change what production pulls.
        assert {a for a in actions if a.startswith("ecr:")} == {
            "ecr:DescribeRepositories",
            "ecr:DescribeImages",
            "ecr:DescribeRegistry",
        }, role


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"CreateOidcProvider": "false"},
            "With CreateOidcProvider false, pass the existing provider's OidcProviderArn.",
        ),
        ({"Branch": "*"}, "Parameter 'Branch' failed to satisfy constraint:"),
        ({"EnvironmentName": ""}, "Parameter 'EnvironmentName' failed to satisfy constraint:"),
        ({"GitHubRepoId": "web-app"}, "Parameter 'GitHubRepoId' failed to satisfy constraint:"),
        ({"GitHubOwnerId": "0"}, "Parameter 'GitHubOwnerId' failed to satisfy constraint:"),
    ],
)
def test_unsafe_or_incomplete_choices_are_refused(aws: Any, values: dict[str, str], message: str) -> None:
    with pytest.raises(ClientError) as refused:
        stack_values = {**BASE, **values}
        deploy(aws("cloudformation"), "github-oidc-refused", template_text("github-oidc.yaml"), stack_values, True)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"].startswith(message)


def test_the_ids_are_required(aws: Any) -> None:
    for missing in IDS:
        values = {k: v for k, v in BASE.items() if k != missing}
        with pytest.raises(ClientError) as refused:
            deploy(aws("cloudformation"), "github-oidc-no-ids", template_text("github-oidc.yaml"), values, True)
        assert missing in refused.value.response["Error"]["Message"]


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
    template = "pull-request-previews.yaml" if role == "PullRequestRole" else "github-oidc.yaml"
    properties = load_template(template)["Resources"][role]["Properties"]
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


# What the pull-request role does not do: cancel, roll back or protect a stack (a broken
# preview is deleted and created again), and ECR writes beyond pushing a preview image.
PULL_REQUEST_NOT_NEEDED = {
    "cloudformation:CancelUpdateStack",
    "cloudformation:RollbackStack",
    "cloudformation:UpdateTerminationProtection",
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:UntagResource",
} | (
    ECR_WRITES
    - {
        f"ecr:{a}"
        for a in (
            "CreateRepository",
            "PutLifecyclePolicy",
            "PutImageScanningConfiguration",
            "TagResource",
            "InitiateLayerUpload",
            "UploadLayerPart",
            "CompleteLayerUpload",
            "PutImage",
            "GetAuthorizationToken",
            "GetLifecyclePolicy",
        )
    }
)


# What only `deployer preview` calls, which runs with the pull-request role only.
PREVIEW_COMMANDS_ONLY = {"cloudformation:ListStacks"}


@pytest.mark.parametrize(
    "role, not_needed",
    [
        ("DeployRole", PREVIEW_COMMANDS_ONLY),
        ("PlanRole", DEPLOY_ONLY | ECR_WRITES | PREVIEW_COMMANDS_ONLY),
        ("PreviewRole", DEPLOY_ONLY | ECR_WRITES | PREVIEW_COMMANDS_ONLY),
        ("PullRequestRole", PULL_REQUEST_NOT_NEEDED),
    ],
)
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
        **BASE,
        "GitHubRepo": "rerun",
        "CreateOidcProvider": "false",
        "OidcProviderArn": with_new_provider["outputs"]["OidcProviderArn"],
    }
    _bootstrap(aws, "github-oidc-rerun", values)
    return {"values": values}


def _rerun(aws: Any, rerun: dict[str, Any], **changes: str) -> dict[str, Any]:
    rerun["values"] = {**rerun["values"], **changes}
    after = _bootstrap(aws, "github-oidc-rerun", rerun["values"], create=False)
    assert after["ids"] == resources(aws("cloudformation"), "github-oidc-rerun")
    return after


def test_rerunning_the_bootstrap_with_a_new_environment_and_ids_changes_the_trust(
    aws: Any, rerun: dict[str, Any]
) -> None:
    after = _rerun(aws, rerun, EnvironmentName="live")
    [statement] = after["trust"]["DeployRole"]
    assert statement["Condition"]["StringEquals"][f"{GITHUB}:sub"][0] == "repo:octo-org/rerun:environment:live"
    # A repository moved to a new owner (or re-created) has new ids: every role follows.
    after = _rerun(aws, rerun, GitHubOrg="new-owner", GitHubOwnerId="4242", GitHubRepoId="777")
    for role in ("DeployRole", "PlanRole", "PreviewRole"):
        [statement] = after["trust"][role]
        equals = statement["Condition"]["StringEquals"]
        assert equals[f"{GITHUB}:repository_id"] == "777", role
        assert equals[f"{GITHUB}:sub"][1].startswith("repo:new-owner@4242/rerun@777:"), role


def test_rerunning_the_bootstrap_with_new_names_moves_the_permissions(aws: Any, rerun: dict[str, Any]) -> None:
    # (Re-running with the same values changes nothing: the change set would be empty.)
    [stack] = aws("cloudformation").describe_stacks(StackName="github-oidc-rerun")["Stacks"]
    before = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["PermissionsBoundaryArn"]
    after = _rerun(aws, rerun, AppStackName="other-app", EcrRepositoryPrefix="other")
    policy = after["policy"]["DeployRole"]
    for sid in ("AppStackChangeSets", "AppStackChangeSetsWithServiceRole"):
        assert [r.split(":stack/")[1] for r in policy[sid]["Resource"]] == ["other-app/*", "other-app-*/*"], sid
    assert policy["EcrPushImage"]["Resource"].endswith(":repository/other*")
    # The boundary is updated in place (same ARN: app stacks keep naming it).
    arn = after["outputs"]["PermissionsBoundaryArn"]
    assert arn == before
    iam = aws("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = _document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    pulls = [s for s in document["Statement"] if s["Sid"] == "PullAppImages"]
    assert pulls[0]["Resource"].endswith(":repository/other*")
