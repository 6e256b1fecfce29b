"""Who can assume which role, and what each role may do with change sets, evaluated.

For every job and event that could reach AWS, the claims GitHub would put in the job's
OIDC token (in both subject forms: the name form and the immutable form that
repositories created since 15 July 2026 get) are evaluated against the trust policies
rendered from cfn/github-oidc.yaml, with IAM's semantics (policy_eval.py). Then the
roles' permission policies are evaluated for change sets by name (contract: releases
are `deployer-release-*`, previews `deployer-preview-*`).

How GitHub fills the claims (GitHub docs, "OpenID Connect reference"):
- `sub`: `repo:OWNER/REPO:environment:ENV` for a job with an environment, else
  `repo:OWNER/REPO:pull_request` for a pull_request event, else `repo:OWNER/REPO:ref:REF`;
  immutable form `repo:OWNER@OWNER_ID/REPO@REPO_ID:...`;
- `ref`: the ref the run is for (`refs/pull/N/merge` for a pull request);
- `job_workflow_ref`: `OWNER/REPO/.github/workflows/FILE@REF` of the file that defines
  the job: a reusable workflow keeps its own file and the ref it was called at, while
  `ref`, `repository` and `repository_id` stay the caller's;
- `environment`: only when the job names one; a pull request from a fork gets no token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import load_template
from policy_eval import ACCOUNT, PARTITION, REGION, allowed, may_assume, physical_ids, render

OWNER, OWNER_ID, REPO, REPO_ID = "octo-org", "9919", "web-app", "1296269"
PARAMETERS = {"GitHubOrg": OWNER, "GitHubRepo": REPO, "GitHubOwnerId": OWNER_ID, "GitHubRepoId": REPO_ID}
TEMPLATE = load_template("github-oidc.yaml")
# The environment hosting pull-request previews has every role (its second bootstrap
# stack, cfn/pull-request-previews.yaml, adds PullRequestRole): the matrix below is
# evaluated against all of them.
PR_TEMPLATE = load_template("pull-request-previews.yaml")
PROVIDER = physical_ids(TEMPLATE)["GitHubOidcProvider"]
BOUNDARY_ARN = physical_ids(TEMPLATE)["PermissionsBoundary"]
PR_PARAMETERS = {
    **PARAMETERS,
    "OidcProviderArn": PROVIDER,
    "PermissionsBoundaryArn": BOUNDARY_ARN,
    "HostedZoneId": "Z0PREVIEW",
    "PreviewDomain": "preview.example.com",
}
RESOURCES = {
    **render(TEMPLATE, PARAMETERS),
    **render(PR_TEMPLATE, {**PR_PARAMETERS, "AppStackName": "alb-cognito-app", "EcrRepositoryPrefix": "alb"}),
}
ROLES = ("DeployRole", "PlanRole", "PreviewRole", "PullRequestRole")
MAIN, FEATURE, PULL = "refs/heads/main", "refs/heads/feature", "refs/pull/7/merge"


@dataclass(frozen=True)
class Job:
    """One job of one run: what GitHub knows when it mints the job's token."""

    event: str  # push, pull_request, workflow_dispatch
    ref: str  # the run's ref
    workflow: str  # the file that defines the job, under .github/workflows/
    workflow_ref: str  # the ref that file was taken at (a called workflow's own ref)
    environment: str | None = None
    repository_id: str = REPO_ID
    fork: bool = False
    # The repository of the file that defines the job (a reusable workflow of another one).
    workflow_repository: str = f"{OWNER}/{REPO}"

    def claims(self, immutable: bool) -> dict[str, str] | None:
        if self.fork:
            return None
        who = f"{OWNER}@{OWNER_ID}/{REPO}@{self.repository_id}" if immutable else f"{OWNER}/{REPO}"
        if self.environment:
            sub = f"repo:{who}:environment:{self.environment}"
        elif self.event in ("pull_request", "pull_request_target"):
            # pull_request_target: taken as its worst case here, the pull_request subject.
            sub = f"repo:{who}:pull_request"
        else:
            sub = f"repo:{who}:ref:{self.ref}"
        claims = {
            "aud": "sts.amazonaws.com",
            "sub": sub,
            "repository": f"{OWNER}/{REPO}",
            "repository_id": self.repository_id,
            "repository_owner_id": OWNER_ID,
            "ref": self.ref,
            "event_name": self.event,
            "job_workflow_ref": f"{self.workflow_repository}/.github/workflows/{self.workflow}@{self.workflow_ref}",
        }
        if self.environment:
            claims["environment"] = self.environment
        return claims


# Every job that could ask for a token, and the one role it must get (None: none).
JOBS: dict[str, tuple[Job, str | None]] = {
    "push to main, plan job": (Job("push", MAIN, "deploy.yml", MAIN), "PlanRole"),
    "push to main, apply job": (Job("push", MAIN, "deploy.yml", MAIN, "production"), "DeployRole"),
    "dispatch on main, plan job": (Job("workflow_dispatch", MAIN, "deploy.yml", MAIN), "PlanRole"),
    "dispatch on main, apply job": (Job("workflow_dispatch", MAIN, "deploy.yml", MAIN, "production"), "DeployRole"),
    # pr.yml calls ./.github/workflows/deploy.yml: the pull request's own copy.
    "same-repository pull request, plan job": (Job("pull_request", PULL, "deploy.yml", PULL), "PreviewRole"),
    # An edited pr.yml (or deploy.yml) in the pull request runs the apply path in production.
    "pull request running deploy.yml's apply in production": (
        Job("pull_request", PULL, "deploy.yml", PULL, "production"),
        None,
    ),
    "pull request whose pr.yml names production itself": (
        Job("pull_request", PULL, "pr.yml", PULL, "production"),
        None,
    ),
    # A branch adds .github/workflows/evil.yml with `environment: production`.
    "branch push of a new workflow naming production": (
        Job("push", FEATURE, "evil.yml", FEATURE, "production"),
        None,
    ),
    "branch push of an edited deploy.yml, apply job": (
        Job("push", FEATURE, "deploy.yml", FEATURE, "production"),
        None,
    ),
    "branch push of an edited deploy.yml, plan job": (Job("push", FEATURE, "deploy.yml", FEATURE), None),
    # A branch's workflow calls OWNER/REPO/.github/workflows/deploy.yml@main: main's
    # job_workflow_ref, but the branch's ref and code.
    "branch workflow calling deploy.yml@main, apply job": (
        Job("push", FEATURE, "deploy.yml", MAIN, "production"),
        None,
    ),
    "branch workflow calling deploy.yml@main, plan job": (Job("push", FEATURE, "deploy.yml", MAIN), None),
    # The same from a pull request: only what any pull request gets.
    "pull request calling deploy.yml@main, apply job": (
        Job("pull_request", PULL, "deploy.yml", MAIN, "production"),
        None,
    ),
    "pull request calling deploy.yml@main, plan job": (Job("pull_request", PULL, "deploy.yml", MAIN), "PreviewRole"),
    "dispatch on a branch, plan job": (Job("workflow_dispatch", FEATURE, "deploy.yml", FEATURE), None),
    "dispatch on a branch, apply job": (Job("workflow_dispatch", FEATURE, "deploy.yml", FEATURE, "production"), None),
    "tag push, apply job": (Job("push", "refs/tags/v1", "deploy.yml", "refs/tags/v1", "production"), None),
    # Another repository that took this one's old name: same names, another id.
    "a repository that took over the name, apply job": (
        Job("push", MAIN, "deploy.yml", MAIN, "production", repository_id="5550001"),
        None,
    ),
    "pull request from a fork (no token)": (Job("pull_request", PULL, "deploy.yml", PULL, fork=True), None),
    # Live previews (issue 19): pr.yml's own jobs of a pull request (preview up on
    # opened/synchronize/reopened, preview down on closed: the same claims).
    "same-repository pull request, pr.yml preview job": (Job("pull_request", PULL, "pr.yml", PULL), "PullRequestRole"),
    "another pull request, pr.yml preview job": (
        Job("pull_request", "refs/pull/123456/merge", "pr.yml", "refs/pull/123456/merge"),
        "PullRequestRole",
    ),
    "scheduled preview-prune.yml on main": (Job("schedule", MAIN, "preview-prune.yml", MAIN), "PullRequestRole"),
    "dispatched preview-prune.yml on main": (
        Job("workflow_dispatch", MAIN, "preview-prune.yml", MAIN),
        "PullRequestRole",
    ),
    "pull request from a fork, pr.yml preview job (no token)": (
        Job("pull_request", PULL, "pr.yml", PULL, fork=True),
        None,
    ),
    "pr.yml run by a push to a branch": (Job("push", "refs/heads/x", "pr.yml", "refs/heads/x"), None),
    "pr.yml dispatched on a branch": (Job("workflow_dispatch", "refs/heads/x", "pr.yml", "refs/heads/x"), None),
    "pr.yml run by a push to main": (Job("push", MAIN, "pr.yml", MAIN), None),
    # pull_request_target runs the base branch's pr.yml with the base's ref.
    "pull_request_target running main's pr.yml": (Job("pull_request_target", MAIN, "pr.yml", MAIN), None),
    # A pull_request_target workflow of main that calls pr.yml at a pull request's merge
    # ref: that job_workflow_ref with main's ref (the ref pin refuses it).
    "pull_request_target workflow calling pr.yml@refs/pull/7/merge": (
        Job("pull_request_target", MAIN, "pr.yml", PULL),
        None,
    ),
    "pr.yml of a pull request naming an environment": (Job("pull_request", PULL, "pr.yml", PULL, "preview"), None),
    "pull request's new workflow file": (Job("pull_request", PULL, "preview.yml", PULL), None),
    "pull request of a repository that took over the name, pr.yml": (
        Job("pull_request", PULL, "pr.yml", PULL, repository_id="5550001"),
        None,
    ),
    # A reusable pr.yml of another repository, called from a pull request here.
    "pull request calling another repository's pr.yml": (
        Job("pull_request", PULL, "pr.yml", PULL, workflow_repository="octo-org/other"),
        None,
    ),
    # The facts' "Pin ref as well as job_workflow_ref": main's preview-prune.yml called as
    # a reusable workflow carries main's job_workflow_ref but the caller's ref.
    "branch workflow calling preview-prune.yml@main": (Job("push", FEATURE, "preview-prune.yml", MAIN), None),
    "branch dispatch calling preview-prune.yml@main": (
        Job("workflow_dispatch", FEATURE, "preview-prune.yml", MAIN),
        None,
    ),
    "pull request calling preview-prune.yml@main": (Job("pull_request", PULL, "preview-prune.yml", MAIN), None),
    "preview-prune.yml dispatched on a branch": (
        Job("workflow_dispatch", FEATURE, "preview-prune.yml", FEATURE),
        None,
    ),
    "preview-prune.yml on main with an environment": (
        Job("schedule", MAIN, "preview-prune.yml", MAIN, "production"),
        None,
    ),
    # Main's deploy.yml jobs keep their roles (above); pr.yml's copy of deploy.yml the preview role.
    "pull request, pr.yml calling its own preview-prune.yml": (
        Job("pull_request", PULL, "preview-prune.yml", PULL),
        None,
    ),
}


@pytest.mark.parametrize("immutable", [False, True], ids=["name subject", "immutable subject"])
@pytest.mark.parametrize("scenario", sorted(JOBS))
def test_each_job_gets_exactly_its_role(scenario: str, immutable: bool) -> None:
    job, expected = JOBS[scenario]
    claims = job.claims(immutable)
    got = [role for role in ROLES if may_assume(_trust(role), PROVIDER, claims)]
    assert got == ([expected] if expected else []), f"{scenario}: {claims}"


def _trust(role: str) -> dict[str, Any]:
    return RESOURCES[role]["Properties"]["AssumeRolePolicyDocument"]


def test_only_the_apply_job_of_main_gets_the_deploy_role() -> None:
    deployers = {name for name, (_, role) in JOBS.items() if role == "DeployRole"}
    assert deployers == {"push to main, apply job", "dispatch on main, apply job"}
    for name in deployers:
        job = JOBS[name][0]
        assert (job.ref, job.workflow, job.workflow_ref, job.environment) == (MAIN, "deploy.yml", MAIN, "production")


@pytest.mark.parametrize("claim", ["repository_id", "job_workflow_ref", "ref", "environment", "sub", "aud"])
def test_without_any_one_claim_main_apply_gets_nothing(claim: str) -> None:
    # A claim the token lacks matches no StringEquals (no ForAllValues trap).
    claims = JOBS["push to main, apply job"][0].claims(immutable=True)
    assert claims is not None
    del claims[claim]
    assert not [role for role in ROLES if may_assume(_trust(role), PROVIDER, claims)]


def test_another_branch_parameter_moves_every_claim() -> None:
    resources = render(TEMPLATE, {**PARAMETERS, "Branch": "release/v2"})
    release = "refs/heads/release/v2"
    apply = Job("push", release, "deploy.yml", release, "production").claims(immutable=False)
    assert may_assume(resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"], PROVIDER, apply)
    main = JOBS["push to main, apply job"][0].claims(immutable=False)
    assert not may_assume(resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"], PROVIDER, main)


# ---------------------------------------------------------------- one bootstrap per environment

STAGING = render(TEMPLATE, {**PARAMETERS, "EnvironmentName": "staging", "AppStackName": "hello-staging"})
PRODUCTION = render(TEMPLATE, {**PARAMETERS, "EnvironmentName": "production", "AppStackName": "hello-production"})


def _apply_job(environment: str, immutable: bool) -> dict[str, str] | None:
    return Job("push", MAIN, "deploy.yml", MAIN, environment).claims(immutable)


@pytest.mark.parametrize("immutable", [False, True], ids=["name subject", "immutable subject"])
@pytest.mark.parametrize(
    "bootstrap, job_environment, assumable",
    [
        ("staging", "staging", True),
        ("staging", "production", False),
        ("production", "production", True),
        ("production", "staging", False),
    ],
)
def test_each_environments_deploy_role_trusts_only_main_apply_jobs_in_that_environment(
    bootstrap: str, job_environment: str, assumable: bool, immutable: bool
) -> None:
    resources = STAGING if bootstrap == "staging" else PRODUCTION
    claims = _apply_job(job_environment, immutable)
    trust = resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert may_assume(trust, PROVIDER, claims) == assumable
    # The plan and preview roles carry no environment: an apply job gets neither.
    for role in ("PlanRole", "PreviewRole"):
        assert not may_assume(resources[role]["Properties"]["AssumeRolePolicyDocument"], PROVIDER, claims)


def _stack(name: str) -> str:
    return f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0a1b2c3d-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    "stack, reachable",
    [
        ("hello-staging", True),  # the environment stack
        ("hello-staging-web", True),  # its services
        ("hello-staging-docs", True),
        ("hello-production", False),  # another environment of the application
        ("hello-production-web", False),
        ("hello", False),
        ("other-staging-web", False),
    ],
)
def test_each_environments_roles_reach_only_that_environments_stacks(stack: str, reachable: bool) -> None:
    statements = [s for p in STAGING["DeployRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    context = {"cloudformation:ChangeSetName": RELEASE, "cloudformation:RoleArn": SERVICE_ROLE}
    assert allowed(statements, "cloudformation:CreateChangeSet", _stack(stack), context) == reachable
    assert allowed(statements, "cloudformation:ExecuteChangeSet", _stack(stack), context) == reachable
    cfn_role = [
        s for p in STAGING["CloudFormationRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
    ]
    role = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{stack}/{stack}-TaskRole-ABC"
    boundary = {"iam:PermissionsBoundary": physical_ids(TEMPLATE)["PermissionsBoundary"]}
    assert allowed(cfn_role, "iam:CreateRole", role, boundary) == reachable


# ---------------------------------------------------------------- change sets by name

STACK = f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/alb-cognito-app/0a1b2c3d-0000-4000-8000-000000000000"
OTHER_STACK = f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/someone-else/0a1b2c3d"
SERVICE_ROLE = physical_ids(TEMPLATE)["CloudFormationRole"]
RELEASE, PREVIEW = "deployer-release-20261203-abc1234", "deployer-preview-20261203-abc1234"


def _arn(name: str) -> str:
    return f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:changeSet/{name}/11111111-2222-4333-8444-555555555555"


def _may(role: str, action: str, name: str, stack: str = STACK, role_arn: str | None = SERVICE_ROLE) -> bool:
    statements = [s for p in RESOURCES[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    context = {"cloudformation:ChangeSetName": name}
    if role_arn is not None:
        context["cloudformation:RoleArn"] = role_arn
    return allowed(statements, f"cloudformation:{action}", stack, context)


NAMES = [RELEASE, PREVIEW, _arn(RELEASE), _arn(PREVIEW), "deployer-releasex", "x-deployer-release-1", "plan"]


@pytest.mark.parametrize("name", NAMES)
def test_the_preview_role_touches_previews_only_and_never_executes(name: str) -> None:
    preview = name in (PREVIEW, _arn(PREVIEW))
    assert _may("PreviewRole", "CreateChangeSet", name) == (name == PREVIEW)
    assert _may("PreviewRole", "DeleteChangeSet", name) == preview
    assert not _may("PreviewRole", "ExecuteChangeSet", name)


@pytest.mark.parametrize("name", NAMES)
def test_the_plan_role_creates_and_deletes_releases_and_previews_and_never_executes(name: str) -> None:
    ours = name in (RELEASE, PREVIEW, _arn(RELEASE), _arn(PREVIEW))
    assert _may("PlanRole", "CreateChangeSet", name) == (name in (RELEASE, PREVIEW))
    assert _may("PlanRole", "DeleteChangeSet", name) == ours
    assert not _may("PlanRole", "ExecuteChangeSet", name)


@pytest.mark.parametrize("name", NAMES)
def test_the_deploy_role_executes_releases_only(name: str) -> None:
    release = name in (RELEASE, _arn(RELEASE))
    assert _may("DeployRole", "ExecuteChangeSet", name) == release
    assert _may("DeployRole", "DeleteChangeSet", name) == release
    assert _may("DeployRole", "CreateChangeSet", name) == (name == RELEASE)


@pytest.mark.parametrize("role", ("DeployRole", "PlanRole", "PreviewRole"))
def test_no_role_creates_change_sets_without_the_service_role_or_on_another_stack(role: str) -> None:
    name = PREVIEW if role == "PreviewRole" else RELEASE
    assert _may(role, "CreateChangeSet", name)
    assert not _may(role, "CreateChangeSet", name, role_arn=None)
    assert not _may(role, "CreateChangeSet", name, role_arn=f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert not _may(role, "CreateChangeSet", name, stack=OTHER_STACK)
    assert not _may(role, "ExecuteChangeSet", name, stack=OTHER_STACK)


# ---------------------------------------------------------------- live previews (issue 19)

# The preview environment's bootstrap (deployer bootstrap --environment preview of a
# deploy.yaml whose `preview` environment has `previews:`).
PREVIEW_NAMES = {"AppStackName": "hello-preview", "EcrRepositoryPrefix": "hello"}
PREVIEW_ENV = {
    **render(TEMPLATE, {**PARAMETERS, "EnvironmentName": "preview", **PREVIEW_NAMES}),
    **render(PR_TEMPLATE, {**PR_PARAMETERS, **PREVIEW_NAMES}),
}
# The previews' own service role: the only role a preview change set may name (never
# the environment's CloudFormationRole, which also deploys the environment stack).
PR_SERVICE_ROLE = physical_ids(PR_TEMPLATE)["PullRequestServiceRole"]
PREVIEW_STACK_ACTIONS = (
    "CreateChangeSet",
    "ExecuteChangeSet",
    "DeleteChangeSet",
    "DescribeChangeSet",
    "DescribeStacks",
    "DescribeStackEvents",
    "ListStackResources",
    "GetTemplate",
    "DeleteStack",
)


def _statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for p in resources[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _pr_may(action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    return allowed(_statements(PREVIEW_ENV, "PullRequestRole"), action, resource, context or {})


def test_the_environment_bootstrap_has_no_pull_request_role() -> None:
    # Only the second stack of the environment with `previews:` has it.
    rendered = render(TEMPLATE, PARAMETERS)
    assert "PullRequestRole" not in rendered
    assert {"DeployRole", "PlanRole", "PreviewRole", "CloudFormationRole"} <= set(rendered)
    assert {"PullRequestRole", "PullRequestServiceRole"} <= set(PREVIEW_ENV)


@pytest.mark.parametrize("immutable", [False, True], ids=["name subject", "immutable subject"])
@pytest.mark.parametrize("claim", ["repository_id", "job_workflow_ref", "ref", "sub", "aud"])
def test_without_any_one_claim_no_preview_job_gets_the_pull_request_role(claim: str, immutable: bool) -> None:
    trust = PREVIEW_ENV["PullRequestRole"]["Properties"]["AssumeRolePolicyDocument"]
    for scenario in ("same-repository pull request, pr.yml preview job", "scheduled preview-prune.yml on main"):
        claims = JOBS[scenario][0].claims(immutable)
        assert claims is not None
        assert may_assume(trust, PROVIDER, claims), scenario
        del claims[claim]
        assert not may_assume(trust, PROVIDER, claims), f"{scenario} without {claim}"


@pytest.mark.parametrize("action", PREVIEW_STACK_ACTIONS)
@pytest.mark.parametrize(
    "stack, reachable",
    [
        ("hello-preview-pr-7-web", True),  # a preview's service stack
        ("hello-preview-pr-123456-docs", True),
        ("hello-preview", False),  # the preview environment's own stack
        ("hello-preview-web", False),  # a non-preview service stack of it
        ("hello-preview-prx", False),
        ("hello-production-pr-7-web", False),  # other environments, whatever the name
        ("hello-production", False),
        ("hello-production-web", False),
        ("hello-staging", False),
        ("hello-staging-web", False),
        ("github-deploy-preview", False),  # the bootstrap stack itself
    ],
)
def test_the_pull_request_role_changes_only_preview_stacks(action: str, stack: str, reachable: bool) -> None:
    context = {"cloudformation:ChangeSetName": RELEASE, "cloudformation:RoleArn": PR_SERVICE_ROLE}
    # The environment stack is readable (its outputs wire the previews), nothing more.
    expected = reachable or (stack == "hello-preview" and action == "DescribeStacks")
    assert _pr_may(f"cloudformation:{action}", _stack(stack), context) == expected


@pytest.mark.parametrize("stack", ["hello-production", "hello-production-web", "hello-staging-web", "hello-preview"])
@pytest.mark.parametrize("name", [RELEASE, PREVIEW, _arn(RELEASE), _arn(PREVIEW)])
def test_the_pull_request_role_never_touches_a_change_set_production_executes(stack: str, name: str) -> None:
    context = {"cloudformation:ChangeSetName": name, "cloudformation:RoleArn": PR_SERVICE_ROLE}
    for action in ("CreateChangeSet", "ExecuteChangeSet", "DeleteChangeSet", "DescribeChangeSet"):
        assert not _pr_may(f"cloudformation:{action}", _stack(stack), context), (action, stack, name)
        # Were it authorized on the change set's own ARN (which names no stack): still not.
        assert not _pr_may(f"cloudformation:{action}", _arn(RELEASE), context), action


def test_preview_change_sets_need_the_previews_service_role() -> None:
    stack = _stack("hello-preview-pr-7-web")
    environments_role = physical_ids(TEMPLATE)["CloudFormationRole"]
    for role_arn, ok in [
        (PR_SERVICE_ROLE, True),
        (f"arn:aws:iam::{ACCOUNT}:role/admin", False),
        (environments_role, False),
    ]:
        context = {"cloudformation:ChangeSetName": RELEASE, "cloudformation:RoleArn": role_arn}
        assert _pr_may("cloudformation:CreateChangeSet", stack, context) == ok, role_arn
    assert not _pr_may("cloudformation:CreateChangeSet", stack, {"cloudformation:ChangeSetName": RELEASE})
    # It passes that role, to CloudFormation, and no other role to anyone.
    to_cfn = {"iam:PassedToService": "cloudformation.amazonaws.com"}
    assert _pr_may("iam:PassRole", PR_SERVICE_ROLE, to_cfn)
    assert not _pr_may("iam:PassRole", PR_SERVICE_ROLE, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not _pr_may("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/hello-preview-pr-7-web/task", to_cfn)
    assert not _pr_may("iam:PassRole", physical_ids(TEMPLATE)["DeployRole"], to_cfn)
    assert not _pr_may("iam:PassRole", environments_role, to_cfn)


def test_a_preview_change_set_never_imports_resources() -> None:
    # Imported into a preview stack, production's user pool (or load balancer...) would
    # be deleted with the preview: CreateChangeSet of an IMPORT names the types.
    stack = _stack("hello-preview-pr-7-web")
    context = {"cloudformation:ChangeSetName": RELEASE, "cloudformation:RoleArn": PR_SERVICE_ROLE}
    assert _pr_may("cloudformation:CreateChangeSet", stack, context)
    importing = {**context, "cloudformation:ImportResourceTypes": "AWS::Cognito::UserPool"}
    assert not _pr_may("cloudformation:CreateChangeSet", stack, importing)


def _repository(name: str) -> str:
    return f"arn:{PARTITION}:ecr:{REGION}:{ACCOUNT}:repository/{name}"


@pytest.mark.parametrize(
    "repository, pushable",
    [
        ("hello-web-preview", True),
        ("hello-docs-preview", True),
        ("hello-web", False),  # what the environments pull from
        ("hello-docs", False),
        ("hello-web-preview-x", False),
        ("other-web-preview", False),
    ],
)
def test_the_pull_request_role_pushes_only_to_preview_repositories(repository: str, pushable: bool) -> None:
    for action in ("PutImage", "InitiateLayerUpload", "CompleteLayerUpload", "CreateRepository", "PutLifecyclePolicy"):
        assert _pr_may(f"ecr:{action}", _repository(repository)) == pushable, (action, repository)
    for action in ("DeleteRepository", "BatchDeleteImage", "SetRepositoryPolicy"):
        assert not _pr_may(f"ecr:{action}", _repository(repository)), action
    assert _pr_may("ecr:GetAuthorizationToken", "*")


def test_the_pull_request_role_reads_the_rollout_and_nothing_of_other_services() -> None:
    cluster = "hello-preview-Cluster-AbC123"
    service = f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:service/{cluster}/hello-preview-pr-7-web-Service-XyZ"
    assert _pr_may("ecs:DescribeServices", service)
    prod = f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:service/hello-production-Cluster-Q/hello-production-web-Service-Q"
    assert not _pr_may("ecs:DescribeServices", prod)
    cluster_arn = f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"
    assert _pr_may("ecs:ListTasks", "*", {"ecs:cluster": cluster_arn})
    assert not _pr_may("ecs:ListTasks", "*", {"ecs:cluster": cluster_arn.replace("preview", "production")})
    for action in ("DescribeRules", "DescribeTargetHealth", "DescribeTargetGroups"):
        assert _pr_may(f"elasticloadbalancing:{action}", "*")
    # It changes nothing itself: only CloudFormation, with the preview service role.
    for action in (
        "ecs:UpdateService",
        "ecs:DeleteService",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:ModifyListener",
        "cognito-idp:CreateUserPoolClient",
        "cognito-idp:AdminCreateUser",
        "iam:CreateRole",
        "ec2:AuthorizeSecurityGroupIngress",
        "route53:ChangeResourceRecordSets",
    ):
        assert not _pr_may(action, "*"), action


def test_the_service_role_creates_preview_roles_only_with_the_boundary() -> None:
    # Previews' task roles are under /hello-preview-pr-N-SERVICE/, and only with the boundary.
    statements = _statements(PREVIEW_ENV, "PullRequestServiceRole")
    boundary = {"iam:PermissionsBoundary": physical_ids(TEMPLATE)["PermissionsBoundary"]}

    def role(stack: str) -> str:
        return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{stack}/{stack}-TaskRole-ABC"

    assert allowed(statements, "iam:CreateRole", role("hello-preview-pr-7-web"), boundary)
    assert not allowed(statements, "iam:CreateRole", role("hello-preview-pr-7-web"), {})
    assert not allowed(statements, "iam:CreateRole", role("hello-production-pr-7-web"), boundary)
    assert not allowed(statements, "iam:DeleteRolePermissionsBoundary", role("hello-preview-pr-7-web"), {})


def test_the_service_role_adds_no_users_groups_or_identity_providers_to_any_pool() -> None:
    # A preview's change set is executed with the environment's service role, and a pull
    # request writes its template: it may add an app client to a pool (services need
    # one), never a user, a group or an identity provider (a way into another
    # environment's pool in the same account).
    statements = _statements(PREVIEW_ENV, "CloudFormationRole")
    pool = f"arn:{PARTITION}:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_Production"
    in_region = {"aws:RequestedRegion": REGION}
    for action in ("CreateUserPool", "CreateUserPoolClient", "CreateUserPoolDomain", "UpdateUserPool"):
        assert allowed(statements, f"cognito-idp:{action}", pool, in_region), action
    for action in (
        "AdminCreateUser",
        "AdminSetUserPassword",
        "AdminAddUserToGroup",
        "AdminInitiateAuth",
        "CreateGroup",
        "CreateIdentityProvider",
        "UpdateIdentityProvider",
        "CreateResourceServer",
        "ListUsers",
        "SignUp",
    ):
        assert not allowed(statements, f"cognito-idp:{action}", pool, in_region), action


def test_the_service_role_starts_no_instances() -> None:
    statements = _statements(PREVIEW_ENV, "CloudFormationRole")
    in_region = {"aws:RequestedRegion": REGION}
    for action in ("CreateVpc", "CreateSubnet", "CreateRoute", "CreateNatGateway", "AuthorizeSecurityGroupEgress"):
        assert allowed(statements, f"ec2:{action}", "*", in_region), action
    for action in ("RunInstances", "CreateNetworkInterface", "CreateKeyPair", "CreateLaunchTemplate", "CreateFlowLogs"):
        assert not allowed(statements, f"ec2:{action}", "*", in_region), action


# ---------------------------------------------------------------- the model itself


def test_the_model_follows_iam_on_lists_absent_keys_wildcards_and_set_operators() -> None:
    from policy_eval import Unmodelled, conditions_hold

    both = {"StringEquals": {"k:a": ["x", "y"], "k:b": "z"}}
    assert conditions_hold(both, {"k:a": "y", "k:b": "z"})  # any value of a key, every key
    assert not conditions_hold(both, {"k:a": "y"})  # an absent key never holds
    assert not conditions_hold(both, {"k:a": "Y", "k:b": "z"})  # case-sensitive
    assert conditions_hold(
        {"StringLike": {"k:a": "o/r/.github/workflows/deploy.yml@*"}},
        {"k:a": "o/r/.github/workflows/deploy.yml@refs/pull/7/merge"},
    )
    assert not conditions_hold({"StringLike": {"k:a": "deployer-release-*"}}, {"k:a": "deployer-preview-1"})
    trap = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"ForAllValues:StringEquals": {"token.actions.githubusercontent.com:sub": "x"}},
            }
        ]
    }
    with pytest.raises(Unmodelled, match="ForAllValues"):
        may_assume(trap, PROVIDER, {"sub": "x"})
    assert conditions_hold({"Null": {"k:a": "true"}}, {})
    assert not conditions_hold({"Null": {"k:a": "true"}}, {"k:a": "x"})
    assert conditions_hold({"Null": {"k:a": "false"}}, {"k:a": "x"})
    with pytest.raises(Unmodelled, match="NumericEquals"):
        conditions_hold({"NumericEquals": {"k:a": "1"}}, {"k:a": "1"})
    deny = [
        {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "cloudformation:ExecuteChangeSet", "Resource": "*"},
    ]
    assert allowed(deny, "cloudformation:DeleteChangeSet", STACK, {})
    assert not allowed(deny, "CloudFormation:ExecuteChangeSet", STACK, {})
