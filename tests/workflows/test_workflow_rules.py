"""Rules about the workflows that need no act run: the test matrix names every check
group; each job assumes the role meant for it and its environment's (plan-staging: the
staging plan role, or the preview role for a pull request; plan-production: the
production plan role; apply-E: E's deploy role; discard-staging: the staging plan role)
and its session outlives the job; no job of one environment names the other's roles or
variables; what each plan step runs (deploy, promote, rollback; executed with a stand-in
deployer); the job graph (staging's plan after the builds only, every apply after the
tests, production after staging, no workflow-level lock, a failed test discards the
staging plan); artifacts survive the approval window and re-runs; the deployer and the
images are built in the run without caches and checked by sha256 before use; the image
build loop (one archive per Dockerfile and context); the fork notice; the act stand-ins'
keys (the preview comment has its own tests: test_preview_comment.py). Pull-request
previews (issue 19): the preview environment's stack beside staging and production, never
in their way; pr.yml's jobs per action (closed: only `preview down`; forks: no preview),
its locking of `up` against `down`, the pull-request role in the preview jobs only (and
no plan or deploy role on a pull request), least privilege, the same deployer and image
checks; preview-prune.yml on main only."""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from act_harness import ROOT, STANDIN_FOR, remote_actions

DEPLOY = ROOT / ".github/workflows/deploy.yml"


def load_yaml(path: Path) -> dict:
    class Loader(yaml.SafeLoader):
        pass

    # CloudFormation short forms (!Ref, !Sub, ...) load as plain values.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return yaml.load(path.read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass


def test_the_test_matrix_runs_every_check_group_once():
    groups = load_yaml(DEPLOY)["jobs"]["test"]["strategy"]["matrix"]["group"]
    checks = sorted(p.stem for p in (ROOT / "scripts/checks").glob("*.sh"))
    assert sorted(groups) == checks, "deploy.yml's test matrix and scripts/checks/*.sh differ"
    # scripts/test.sh selects by substring: each group must select only its own file.
    for group in groups:
        assert [c for c in checks if group in c] == [group]


@functools.cache
def jobs() -> dict:
    """deploy.yml's jobs, parsed once (read-only: no test changes them)."""
    return load_yaml(DEPLOY)["jobs"]


def credentials_step(job: dict) -> dict:
    return next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))


def step(job: dict, step_id: str) -> dict:
    return next(s for s in job["steps"] if s.get("id") == step_id)


def step_named(job: dict, name: str) -> dict:
    return next(s for s in job["steps"] if s.get("name") == name)


@functools.cache
def bootstrap() -> dict:
    return load_yaml(ROOT / "cfn/github-oidc.yaml")


# --- a tiny evaluator for the workflows' `${{ }}` expressions ---------------------------
# Enough of GitHub's expression language for the conditions below (==, !=, !, &&, ||,
# string literals, context paths): && and || return an operand, as Python's and/or do.


def evaluate(expression: str, **contexts) -> object:
    inner = re.fullmatch(r"\$\{\{(.*)\}\}", expression.strip(), re.S)
    text = (inner.group(1) if inner else expression).strip()
    if text.startswith("${{"):
        raise AssertionError(f"not one expression: {expression}")
    python = re.sub(r"!(?!=)", " not ", text).replace("&&", " and ").replace("||", " or ")

    class Context(dict):
        def __getattr__(self, name):
            value = self.get(name.replace("_dash_", "-"), "")
            return Context(value) if isinstance(value, dict) else value

    python = re.sub(r"(?<=[a-z])-(?=[a-z])", "_dash_", python)
    namespace = {k: Context(v) for k, v in contexts.items()}
    # Status functions as GitHub evaluates them in a job's `if` (nothing cancelled here).
    namespace.update(always=lambda: True, cancelled=lambda: False, true=True, false=False)
    return eval(f"({python})", {"__builtins__": {}}, namespace)  # noqa: S307 - our own workflow file


def interpolate(template: str, **contexts) -> str:
    """A string with `${{ }}` expressions in it, as GitHub fills it (e.g. a concurrency group)."""
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1), **contexts)), template)


def test_the_expression_evaluator_follows_github_semantics():
    assert evaluate("${{ a.x == 'p' && 'yes' || 'no' }}", a={"x": "p"}) == "yes"
    assert evaluate("${{ a.x == 'p' && 'yes' || 'no' }}", a={"x": "q"}) == "no"
    assert evaluate("${{ !inputs.dry-run && 'x' || '' }}", inputs={"dry-run": True}) == ""
    assert evaluate("${{ !inputs.dry-run && 'x' || '' }}", inputs={}) == "x"


# --- which job assumes which role ---------------------------------------------------


def job_text(job: dict) -> str:
    return yaml.safe_dump(job)


EVENTS = {
    # event -> the github context of that event as the plan job sees it (pr.yml calls
    # deploy.yml, so a called workflow sees the caller's event).
    "push": {"event_name": "push", "ref": "refs/heads/main"},
    "workflow_dispatch": {"event_name": "workflow_dispatch", "ref": "refs/heads/main"},
    "pull_request": {"event_name": "pull_request", "ref": "refs/pull/7/merge"},
}
ENVIRONMENTS = ("staging", "production", "preview")
# Jobs that assume a role, and the environment each belongs to.
ROLE_JOBS = {
    "plan-staging": "staging",
    "apply-staging": "staging",
    "discard-staging": "staging",
    "plan-production": "production",
    "apply-production": "production",
    "plan-preview": "preview",
    "apply-preview": "preview",
}


def others(environment: str) -> list[str]:
    return [e for e in ENVIRONMENTS if e != environment]


def plan_role_variable(job: str, event: str) -> str:
    """The repository variable whose role the plan job assumes for this event."""
    plan = jobs()[job]
    chosen = plan["env"]["ROLE_VARIABLE"]
    chooser = evaluate(chosen, github=EVENTS[event]) if "${{" in chosen else chosen
    role = credentials_step(plan)["with"]["role-to-assume"]
    # Indexed by name: an unset variable is empty, never another role.
    assert role == "${{ vars[env.ROLE_VARIABLE] }}", role
    return chooser


def test_the_plan_jobs_take_their_environments_plan_role_and_pull_requests_the_preview_role():
    assert plan_role_variable("plan-staging", "pull_request") == "AWS_PREVIEW_ROLE_ARN"
    assert plan_role_variable("plan-staging", "push") == "AWS_PLAN_ROLE_ARN_STAGING"
    assert plan_role_variable("plan-staging", "workflow_dispatch") == "AWS_PLAN_ROLE_ARN_STAGING"
    # Production and the preview environment are never planned for a pull request: one
    # role each, whatever the event.
    for event in EVENTS:
        assert plan_role_variable("plan-production", event) == "AWS_PLAN_ROLE_ARN_PRODUCTION"
        assert plan_role_variable("plan-preview", event) == "AWS_PLAN_ROLE_ARN_PREVIEW"
    for name in ("plan-staging", "plan-production", "plan-preview"):
        plan = jobs()[name]
        # No GitHub environment: the roles trust the workflow file and ref, not a name.
        assert "environment" not in plan
        # The job checks the variable it will use, under its own name, before any download.
        check = plan["steps"][1]
        assert check["name"] == "Check the variables this job itself needs"
        assert 'for name in AWS_REGION "$ROLE_VARIABLE"' in check["run"]
        assert {k: v for k, v in check["env"].items()} == {n: f"${{{{ vars.{n} }}}}" for n in check["env"]}
        assert plan["env"]["ROLE_VARIABLE"].count("AWS_") == len([n for n in check["env"] if n != "AWS_REGION"]), (
            f"{name}: the check must cover every role the job may choose"
        )


def test_each_role_job_uses_only_its_environments_roles_and_variables():
    with_credentials = {
        name for name, job in jobs().items() if any("configure-aws" in s.get("uses", "") for s in job["steps"])
    }
    assert with_credentials == set(ROLE_JOBS)
    for name, job in jobs().items():
        text = job_text(job)
        environment = ROLE_JOBS.get(name)
        for env_name in ENVIRONMENTS:
            deploy_role = f"AWS_DEPLOY_ROLE_ARN_{env_name.upper()}"
            assert (deploy_role in text) == (name == f"apply-{env_name}"), (name, deploy_role)
        # Only the apply jobs name a GitHub environment, their own.
        if name.startswith("apply-"):
            assert job["environment"]["name"] == environment, name
        else:
            assert "environment" not in job, f"job {name}: only the apply jobs name a GitHub environment"
        if environment:
            # Nothing of another environment: no role, service role or boundary (a
            # variable ending in its name; AWS_PREVIEW_ROLE_ARN is the staging preview role).
            for o in others(environment):
                assert not re.search(rf"_{o.upper()}\b", text), f"{name} names a {o} variable"
        # Each role-using job may ask for an OIDC token; no other job may.
        assert (job.get("permissions", {}).get("id-token") == "write") == (name in with_credentials), name
    assert "AWS_DEPLOY_ROLE_ARN }}" not in DEPLOY.read_text(), "the unsuffixed deploy role of issue 17 is gone"
    for env_name in ENVIRONMENTS:
        apply = jobs()[f"apply-{env_name}"]
        upper = env_name.upper()
        assert credentials_step(apply)["with"]["role-to-assume"] == f"${{{{ vars.AWS_DEPLOY_ROLE_ARN_{upper} }}}}"
    discard = credentials_step(jobs()["discard-staging"])
    assert discard["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN_STAGING }}"


def wait_timeout(environment: str) -> str:
    """deploy.yaml's wait_timeout for the environment (the deployer's default: 60m)."""
    return load_yaml(ROOT / "deploy.yaml")["environments"][environment].get("wait_timeout", "60m")


def role_limit(resource: str) -> int:
    roles = bootstrap()["Resources"]
    return roles.get(resource, {}).get("Properties", {}).get("MaxSessionDuration", 3600)


def test_the_aws_sessions_outlive_their_jobs_and_the_stack_wait():
    # The roles each job may assume (cfn/github-oidc.yaml resources; one stack per environment).
    roles = {
        "plan-staging": ["PlanRole", "PreviewRole"],
        "plan-production": ["PlanRole"],
        "apply-staging": ["DeployRole"],
        "apply-production": ["DeployRole"],
        "discard-staging": ["PlanRole"],
        "plan-preview": ["PlanRole"],
        "apply-preview": ["DeployRole"],
    }
    for name, resources in roles.items():
        job = jobs()[name]
        session = int(credentials_step(job)["with"].get("role-duration-seconds", 3600))
        # The session covers the whole job.
        assert session >= job["timeout-minutes"] * 60, name
        # STS refuses a session longer than the role's MaxSessionDuration.
        for resource in resources:
            assert role_limit(resource) >= session, (
                f"cfn/github-oidc.yaml allows {role_limit(resource)} s for {resource}, but job {name} asks for "
                f"{session} s (role-duration-seconds): STS would refuse it"
            )
    # apply waits as long as the plan says: deploy.yaml's wait_timeout for the environment.
    for env_name in ENVIRONMENTS:
        wait = wait_timeout(env_name)
        minutes = re.fullmatch(r"(\d+)m", wait)
        assert minutes, f"deploy.yaml {env_name} wait_timeout {wait!r}: this test reads minutes only"
        apply_session = int(credentials_step(jobs()[f"apply-{env_name}"])["with"]["role-duration-seconds"])
        # The pushes come before the wait, inside the same session: leave them time.
        assert int(minutes.group(1)) * 60 + 10 * 60 <= apply_session, env_name


# --- what each plan step runs (the step's own script, with a stand-in deployer) -------


def run_plan_step(tmp_path: Path, job: str, inputs: dict[str, str], services: str = "") -> list[str]:
    """Runs the plan step of `job` as the runner would, with a deployer that records its
    arguments; returns them."""
    plan = step(jobs()[job], "plan")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    args_file = tmp_path / "args"
    deployer = bin_dir / "deployer"
    deployer.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {args_file}\necho "{{}}"\n')
    deployer.chmod(0o755)
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    (images / "services.tsv").write_text(services)
    env = {
        "RUNNER_TEMP": str(tmp_path),
        "DRY_RUN": inputs.get("dry-run", "false"),
        "ROLLBACK_SERVICE": inputs.get("rollback-service", ""),
        "ROLLBACK_TO": inputs.get("rollback-to", ""),
        "IMAGES": str(images),
        "PLAN": str(tmp_path / "plan/plan.json"),
        "REPORT": str(tmp_path / "report/deploy-report.json"),
    }
    done = run_step(plan, env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return args_file.read_text().splitlines()


def test_plan_staging_deploys_this_commits_images_or_rolls_back(tmp_path):
    plan = str(tmp_path / "plan/plan.json")
    images = tmp_path / "images"
    tsv = "public\timage-1.tar\nweb\timage-1.tar\n"
    assert run_plan_step(tmp_path, "plan-staging", {}, tsv) == [
        "deploy", "--config", "deploy.yaml", "--environment", "staging",
        "--image", f"public=oci-archive:{images}/image-1.tar",
        "--image", f"web=oci-archive:{images}/image-1.tar",
        "--output", "json", "--plan-out", plan,
    ]  # fmt: skip
    assert run_plan_step(tmp_path, "plan-staging", {"dry-run": "true"}, tsv)[-1] == "--dry-run"
    assert run_plan_step(tmp_path, "plan-staging", {"rollback-service": "web"}, tsv) == [
        "rollback", "--config", "deploy.yaml", "--environment", "staging", "--service", "web",
        "--output", "json", "--plan-out", plan,
    ]  # fmt: skip
    digest = "sha256:" + "a" * 64
    args = run_plan_step(tmp_path, "plan-staging", {"rollback-service": "web", "rollback-to": digest}, tsv)
    assert args[:9] == [
        "rollback", "--config", "deploy.yaml", "--environment", "staging", "--service", "web", "--to", digest,
    ]  # fmt: skip
    # Dispatch inputs are data: a hostile one stays one argument.
    hostile = "web; touch pwned $(id)"
    args = run_plan_step(tmp_path, "plan-staging", {"rollback-service": hostile}, tsv)
    assert args[6] == hostile and not (tmp_path / "pwned").exists()


def test_plan_production_promotes_from_staging_without_images_or_rolls_back(tmp_path):
    plan = str(tmp_path / "plan/plan.json")
    assert run_plan_step(tmp_path, "plan-production", {}) == [
        "promote", "--config", "deploy.yaml", "--from", "staging", "--to", "production",
        "--output", "json", "--plan-out", plan,
    ]  # fmt: skip
    assert run_plan_step(tmp_path, "plan-production", {"dry-run": "true"})[-1] == "--dry-run"
    assert run_plan_step(tmp_path, "plan-production", {"rollback-service": "public"})[:7] == [
        "rollback", "--config", "deploy.yaml", "--environment", "production", "--service", "public",
    ]  # fmt: skip
    production = job_text(jobs()["plan-production"])
    # No rebuild, no push: production gets no image archive at all.
    assert "images" not in production and "--image" not in production and "build-images" not in production


def test_only_the_apply_jobs_execute_and_only_staging_pushes_images():
    for name in ("plan-staging", "plan-production"):
        run = step(jobs()[name], "plan")["run"]
        assert "--plan-out" in run and "--dry-run" in run and "--yes" not in run
        assert " apply" not in run
        # The history, for the deployer's ordering check.
        checkout = next(s for s in jobs()[name]["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["fetch-depth"] == 0
    staging, production = jobs()["apply-staging"], jobs()["apply-production"]
    assert "!inputs.dry-run" in staging["if"] and "needs.plan-staging.outputs.has-changes == 'true'" in staging["if"]
    assert "!inputs.dry-run" in production["if"]
    assert "needs.plan-production.outputs.has-changes == 'true'" in production["if"]
    assert 'args=(apply "$PLAN")' in step(staging, "apply")["run"]
    assert '--image "$service=oci-archive:' in step(staging, "apply")["run"]
    assert step(production, "apply")["run"] == '"$RUNNER_TEMP/bin/deployer" apply "$PLAN"'


def test_every_deploy_yaml_variable_is_filled_from_the_repository_variable_of_its_name():
    """Each environment's plan step hands the deployer exactly the repository variables its
    ${VAR}s name (a forgotten one would stop CI), and nothing of the other environment."""
    text = (ROOT / "deploy.yaml").read_text()
    environments = load_yaml(ROOT / "deploy.yaml")["environments"]
    assert set(environments) >= set(ENVIRONMENTS)
    for env_name in ENVIRONMENTS:
        section = yaml.safe_dump(environments[env_name])
        wanted = set(re.findall(r"\$\{(\w+)\}", section))
        assert f"CFN_ROLE_ARN_{env_name.upper()}" in wanted, env_name
        env = step(jobs()[f"plan-{env_name}"], "plan")["env"]
        passed = {k for k, v in env.items() if v == f"${{{{ vars.{k} }}}}"}
        assert passed == wanted, (env_name, sorted(passed ^ wanted))
    # Services take no variables: their images are built before any is known.
    assert "${" not in yaml.safe_dump(load_yaml(ROOT / "deploy.yaml")["services"]), text


def test_every_remote_action_has_a_stand_in_or_is_handled_by_act():
    used = remote_actions(ROOT / ".github/workflows")
    assert set(used) <= set(STANDIN_FOR)
    for action, folder in STANDIN_FOR.items():
        if folder:
            assert (ROOT / "tests/workflows/actions" / folder).is_dir(), action


# --- the job graph: fast, and never serialised behind people (issue 17 item 6) -------


def runs(job: str, event: str, inputs: dict | None = None, **results) -> bool:
    """Whether GitHub would start `job`: its `if` evaluated for the event, the inputs and
    the results of the jobs it needs (default success; `has_changes` for the plan jobs)."""
    needs = {}
    for need in jobs()[job].get("needs", []):
        result = results.get(need.replace("-", "_"), "success")
        changes = results.get(need.replace("-", "_") + "_changes", "true")
        needs[need] = {"result": result, "outputs": {"has-changes": changes}}
    github = dict(EVENTS[event], repository="o/r", event={"pull_request": {"head": {"repo": {"full_name": "o/r"}}}})
    condition = jobs()[job].get("if", "true")
    implicit_success = not re.search(r"\b(always|cancelled|failure|success)\(", condition)
    # Without a status function GitHub adds success(): every need succeeded.
    if implicit_success and any(n["result"] != "success" for n in needs.values()):
        return False
    return bool(evaluate(condition, github=github, inputs=inputs or {}, needs=needs))


def started_jobs(event: str, inputs: dict | None = None) -> set[str]:
    """deploy.yml's jobs GitHub would start for the event when every started job succeeds
    (and changes something): each job's `if` with its needs' real results."""
    graph, result = jobs(), {}
    while len(result) < len(graph):
        for name, job in graph.items():
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if name in result or any(n not in result for n in needs):
                continue
            result[name] = runs(name, event, inputs, **{n.replace("-", "_"): result[n] for n in needs})
            result[name] = "success" if result[name] else "skipped"
    return {name for name, r in result.items() if r == "success"}


def test_the_job_graph_promotes_staging_to_production():
    graph = jobs()
    assert sorted(graph["plan-staging"]["needs"]) == ["build-deployer", "build-images"]
    assert {"plan-staging", "test"} <= set(graph["apply-staging"]["needs"])
    assert {"apply-staging", "test"} <= set(graph["plan-production"]["needs"])
    assert {"plan-production", "test"} <= set(graph["apply-production"]["needs"])
    # `needs: test` on a matrix job waits for every group and fails if any failed; the
    # matrix must not stop at the first failure (fail-fast), or a group would be skipped.
    assert graph["test"]["strategy"]["fail-fast"] is False
    # apply-staging's `if` has no status function, so GitHub adds success().
    assert not re.search(r"\b(always|failure|cancelled)\(", graph["apply-staging"]["if"])
    for name in ("test", "build-deployer", "build-images"):
        assert "needs" not in graph[name], f"{name} must start at once"


def test_which_jobs_run_for_each_event():
    staging, production = {"environment": "staging"}, {"environment": "production"}
    # A push: staging, then production.
    for job in ("plan-staging", "apply-staging", "plan-production", "apply-production"):
        assert runs(job, "push"), job
    # Staging had nothing to apply (a docs-only push): production is still planned.
    assert runs("plan-production", "push", apply_staging="skipped", plan_staging_changes="false")
    # Staging's apply failed, was skipped by a failed test, or declined: production waits.
    assert not runs("plan-production", "push", apply_staging="failure")
    assert not runs("plan-production", "push", apply_staging="skipped", test="failure")
    assert not runs("plan-production", "push", apply_staging="skipped", plan_staging_changes="true")
    assert not runs("plan-production", "push", apply_staging="cancelled")
    assert not runs("plan-production", "push", test="failure", apply_staging="skipped", plan_staging_changes="false")
    # A dispatch runs one environment's plan and apply.
    assert runs("plan-staging", "workflow_dispatch", staging)
    assert not runs("plan-staging", "workflow_dispatch", production)
    assert not runs("plan-production", "workflow_dispatch", staging, apply_staging="skipped")
    assert runs("plan-production", "workflow_dispatch", production, plan_staging="skipped", apply_staging="skipped")
    assert not runs("plan-production", "workflow_dispatch", production, test="failure", plan_staging="skipped")
    assert runs("apply-production", "workflow_dispatch", production)
    # Images are built for staging only: production promotes or rolls back to images in the registry.
    assert runs("build-images", "push") and runs("build-images", "workflow_dispatch", staging)
    assert not runs("build-images", "workflow_dispatch", production)
    # A dry run applies nothing; a plan without changes asks no approval.
    assert not runs("apply-staging", "workflow_dispatch", {**staging, "dry-run": True})
    assert not runs("apply-production", "workflow_dispatch", {**production, "dry-run": True})
    assert not runs("apply-production", "push", plan_production_changes="false")
    assert not runs("apply-production", "push", test="failure")
    assert not runs("apply-production", "push", plan_production="failure")
    # pr.yml's call: staging's preview only.
    pr = {"environment": "staging", "dry-run": True}
    assert runs("plan-staging", "pull_request", pr)
    assert not runs("plan-production", "pull_request", pr, apply_staging="skipped", plan_staging_changes="false")
    assert not runs("apply-staging", "pull_request", pr)
    # The preview environment's stack: on a push only, after the tests, applied when changed.
    assert runs("plan-preview", "push") and runs("apply-preview", "push")
    assert not runs("plan-preview", "push", test="failure")
    assert not runs("apply-preview", "push", plan_preview_changes="false")
    for event, inputs in (("workflow_dispatch", staging), ("workflow_dispatch", production), ("pull_request", pr)):
        assert not runs("plan-preview", event, inputs), event
        assert not {"plan-preview", "apply-preview"} & started_jobs(event, inputs), event
    assert {"plan-preview", "apply-preview", "apply-production"} <= started_jobs("push")


def test_the_preview_environment_never_holds_staging_or_production():
    """A failing preview environment fails the run, never production: no staging or
    production job needs (directly or not) a preview environment job, and those need
    nothing of staging's or production's."""
    graph = jobs()

    def ancestors(name: str) -> set[str]:
        needs = graph[name].get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        return set(needs).union(*(ancestors(n) for n in needs)) if needs else set()

    for name, environment in ROLE_JOBS.items():
        if environment != "preview":
            assert not {"plan-preview", "apply-preview"} & ancestors(name), name
    assert ancestors("apply-preview") == {"plan-preview", "test", "build-deployer"}
    assert graph["apply-preview"]["environment"] == {"name": "preview"}
    assert "--environment preview" in step(graph["plan-preview"], "plan")["run"]
    assert "--image" not in job_text(graph["plan-preview"]) + job_text(graph["apply-preview"])


def test_no_workflow_level_lock_and_each_apply_holds_its_environments():
    # A workflow-level group would hold a later push's tests and plan behind an approval.
    assert "concurrency" not in load_yaml(DEPLOY)
    locked = {name: job["concurrency"] for name, job in jobs().items() if "concurrency" in job}
    assert sorted(locked) == ["apply-preview", "apply-production", "apply-staging"]
    for name, lock in locked.items():
        assert lock["cancel-in-progress"] is False, "a running apply must never be cancelled"
        assert lock["group"] == name, "one lock per environment, shared by every run"


def test_a_staging_plan_whose_tests_fail_is_discarded_with_the_plan_role():
    discard = jobs()["discard-staging"]
    assert {"test", "plan-staging", "build-deployer"} <= set(discard["needs"])
    condition = discard["if"]

    def discards(test: str, plan: str = "success", changes: str = "true", dry_run: bool = False) -> bool:
        needs = {"test": {"result": test}, "plan-staging": {"result": plan, "outputs": {"has-changes": changes}}}
        return bool(evaluate(condition, needs=needs, inputs={"dry-run": dry_run}))

    assert "always()" in condition, "without always() the job is skipped when a test fails"
    assert discards("failure")
    assert discards("cancelled")
    assert not discards("success"), "tests passed: apply takes the plan"
    assert not discards("failure", plan="failure")
    assert not discards("failure", changes="false"), "no change set was left"
    assert not discards("failure", dry_run=True), "a dry run deleted its change sets itself"
    last = discard["steps"][-1]
    assert last["run"] == '"$RUNNER_TEMP/bin/deployer" discard "$PLAN"'
    assert last["env"]["PLAN"] == "${{ runner.temp }}/plan/plan.json"
    # Production's plan waits for every test, so it never needs discarding.
    assert "test" in jobs()["plan-production"]["needs"]
    assert "needs.test.result == 'success'" in jobs()["plan-production"]["if"]


# --- approvals and re-runs (issue 17 item 4) ------------------------------------------


def uploads() -> list[tuple[str, dict]]:
    return [
        (name, s["with"])
        for name, job in jobs().items()
        for s in job["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact@")
    ]


def test_artifacts_outlive_the_approval_window_and_re_runs_replace_them():
    found = {w["name"]: w for _, w in uploads()}
    kept = {"deployer", "images", "plan-staging", "plan-production"}
    assert kept <= set(found)
    for name, upload in found.items():
        # "Re-run all jobs" uploads every name again in the same run: v4 answers 409
        # Conflict unless the upload replaces the earlier attempt's.
        assert upload.get("overwrite") is True, f"artifact {name} would collide on a re-run"
    for name in kept:
        # A job waiting for approval fails after 30 days: what apply downloads must last
        # longer than that (the repository's retention setting may cap it: README).
        assert int(found[name]["retention-days"]) > 30, name


def test_downloads_find_earlier_attempts_artifacts():
    """ "Re-run failed jobs" of a plan, apply or discard job alone must download what the
    first attempt's jobs uploaded: through the REST API (github-token, this run's id),
    which sees the whole run, not the attempt-scoped runner service; that needs `actions: read`."""
    for name in ROLE_JOBS:
        job = jobs()[name]
        downloads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
        assert downloads, name
        for s in downloads:
            assert s["with"].get("github-token") == "${{ github.token }}", (name, s["with"]["name"])
            assert s["with"].get("run-id") == "${{ github.run_id }}", (name, s["with"]["name"])
        assert job["permissions"].get("actions") == "read", name


def test_jobs_download_only_what_their_needs_uploaded():
    """A re-run of a job alone sees the earlier attempt's artifacts and job outputs; it
    must need every job whose artifact or output it uses."""
    graph = jobs()

    def ancestors(name: str) -> set[str]:
        needs = graph[name].get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        return set(needs).union(*(ancestors(n) for n in needs)) if needs else set()

    producer = {w["name"]: job for job, w in uploads()}
    for name in ROLE_JOBS:
        for s in graph[name]["steps"]:
            if s.get("uses", "").startswith("actions/download-artifact@"):
                assert producer[s["with"]["name"]] in ancestors(name), (name, s["with"]["name"])
        for used in re.findall(r"needs\.([\w-]+)\.outputs", job_text(graph[name])):
            assert used in ancestors(name) and used in graph[name]["needs"], (name, used)


# --- what runs with AWS credentials is what was built (issue 17 item 8) -------

CHECK_DEPLOYER = "Check the deployer against the checksum its build job output"
CHECK_IMAGES = "Check the image archives against the checksum their build job output"
CHECK_PLAN = "Check the plan file against the checksum the plan job output"


def test_the_builds_restore_no_cache_and_run_no_test_code():
    build = jobs()["build-deployer"]
    used = [s["uses"].split("@")[0] for s in build["steps"] if "uses" in s]
    assert used == ["actions/checkout", "actions/upload-artifact"], used
    runs_ = "\n".join(s.get("run", "") for s in build["steps"])
    assert "cargo build --release --locked -p deployer" in runs_
    for forbidden in ("scripts/test.sh", "cargo test", "npm", "pip", "pytest", "actions/cache", "rust-cache"):
        assert forbidden not in job_text(build), forbidden
    assert build["outputs"]["sha256"] == "${{ steps.build.outputs.sha256 }}"
    assert "sha256sum dist/deployer" in step(build, "build")["run"]
    images = jobs()["build-images"]
    used = [s["uses"].split("@")[0] for s in images["steps"] if "uses" in s]
    assert used == ["actions/checkout", "docker/setup-buildx-action", "actions/upload-artifact"], used
    assert images["outputs"]["sha256"] == "${{ steps.build.outputs.sha256 }}"
    assert 'sha256sum "$IMAGES/SHA256SUMS"' in step(images, "build")["run"]
    script = (ROOT / ".github/scripts/build-images.sh").read_text()
    # No layer cache either: a test job of a main run could have written any entry.
    for text in (job_text(images), script):
        assert not re.search(r"cache-from|cache-to|type=gha|actions/cache|rust-cache", text)
    # No cache action anywhere near the jobs that hold AWS credentials or build what they run.
    for name in ("build-deployer", "build-images", *ROLE_JOBS):
        assert not re.search(r"actions/cache|rust-cache", job_text(jobs()[name])), name


def first_step(job: dict, predicate) -> int:
    return next(i for i, s in enumerate(job["steps"]) if predicate(s))


def test_the_deployer_images_and_plans_are_checked_before_first_use():
    graph = jobs()
    checks = []
    for name in ROLE_JOBS:
        job = graph[name]
        checked = first_step(job, lambda s: s.get("name") == CHECK_DEPLOYER)
        used = first_step(job, lambda s: "bin/deployer" in s.get("run", "") and s.get("name") != CHECK_DEPLOYER)
        downloaded = first_step(job, lambda s: s.get("with", {}).get("name") == "deployer")
        assert downloaded < checked < used, f"{name}: download, check, then run the deployer"
        assert job["steps"][checked]["env"]["DEPLOYER_SHA256"] == "${{ needs.build-deployer.outputs.sha256 }}"
        checks.append(job["steps"][checked])
    assert all(c == checks[0] for c in checks), "every deployer check must be the same step"
    image_checks = []
    for name, job in graph.items():
        if "${{ runner.temp }}/images" not in job_text(job) or name == "build-images":
            continue
        checked = first_step(job, lambda s: s.get("name") == CHECK_IMAGES)
        used = first_step(job, lambda s: "IMAGES" in s.get("env", {}) and s.get("name") != CHECK_IMAGES)
        assert checked < used, name
        assert job["steps"][checked]["env"]["IMAGES_SHA256"] == "${{ needs.build-images.outputs.sha256 }}"
        image_checks.append((name, job["steps"][checked]))
    # The preview environment's jobs plan and apply its environment stack only: no images.
    assert [n for n, _ in image_checks] == ["plan-staging", "apply-staging"]
    assert image_checks[0][1] == image_checks[1][1]
    # The plan file names the change sets apply executes (and discard deletes).
    for name, plan in (("apply-staging", "plan-staging"), ("discard-staging", "plan-staging"),
                       ("apply-production", "plan-production"), ("apply-preview", "plan-preview")):  # fmt: skip
        job = graph[name]
        checked = first_step(job, lambda s: s.get("name") == CHECK_PLAN)
        used = first_step(job, lambda s: "$PLAN" in s.get("run", "") and s.get("name") != CHECK_PLAN)
        assert checked < used, name
        assert job["steps"][checked]["env"]["PLAN_SHA256"] == f"${{{{ needs.{plan}.outputs.plan-sha256 }}}}"
        download = next(s for s in job["steps"] if s.get("with", {}).get("path") == "${{ runner.temp }}/plan")
        assert download["with"]["name"] == plan, name
    for plan in ("plan-staging", "plan-production", "plan-preview"):
        assert graph[plan]["outputs"]["plan-sha256"] == "${{ steps.plan-sum.outputs.sha256 }}"
        summed = step(graph[plan], "plan-sum")
        assert summed["if"] == step_named(graph[plan], "Hand the plan to the apply job")["if"]


def run_step(step_: dict, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Runs a workflow step's script as the runner would (bash -e), with its env filled."""
    script = tmp_path / "step.sh"
    script.write_text(step_["run"])
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )


def test_the_deployer_check_refuses_a_replaced_binary(tmp_path):
    check = step_named(jobs()["apply-production"], CHECK_DEPLOYER)
    deployer = tmp_path / "bin/deployer"
    deployer.parent.mkdir()
    deployer.write_text("#!/bin/sh\necho deployer 9.9.9\n")
    built = hashlib.sha256(deployer.read_bytes()).hexdigest()
    env = {"DEPLOYER": str(deployer), "RUNNER_TEMP": str(tmp_path)}
    good = run_step(check, {**env, "DEPLOYER_SHA256": built}, tmp_path)
    assert good.returncode == 0 and "deployer 9.9.9" in good.stdout, good.stdout + good.stderr
    # An artifact any job of the run could have replaced (upload-artifact overwrite).
    deployer.write_text("#!/bin/sh\necho replaced\n")
    bad = run_step(check, {**env, "DEPLOYER_SHA256": built}, tmp_path)
    assert bad.returncode != 0 and "replaced" not in bad.stdout
    assert "Deployer checksum mismatch" in bad.stdout
    # No output from the build job (e.g. a re-run that lost it): refused, not skipped.
    missing = run_step(check, {**env, "DEPLOYER_SHA256": ""}, tmp_path)
    assert missing.returncode != 0 and "No deployer checksum" in missing.stdout


def test_the_image_check_refuses_a_replaced_list_or_archive(tmp_path):
    check = step_named(jobs()["apply-staging"], CHECK_IMAGES)
    images = tmp_path / "images"
    images.mkdir()
    (images / "image-1.tar").write_bytes(b"the archive build-images made")
    (images / "services.tsv").write_text("web\timage-1.tar\n")
    sums = subprocess.run(
        ["sha256sum", "image-1.tar", "services.tsv"], cwd=images, check=True, capture_output=True, text=True
    ).stdout
    (images / "SHA256SUMS").write_text(sums)
    made = hashlib.sha256(sums.encode()).hexdigest()
    env = {"IMAGES": str(images)}
    assert run_step(check, {**env, "IMAGES_SHA256": made}, tmp_path).returncode == 0
    # Another job of the run replaced an archive (and left the list alone)...
    (images / "image-1.tar").write_bytes(b"what another job uploaded")
    bad = run_step(check, {**env, "IMAGES_SHA256": made}, tmp_path)
    assert bad.returncode != 0 and "Image checksum mismatch" in bad.stdout
    # ...or the list with it.
    (images / "SHA256SUMS").write_text(sums.replace(sums.split()[0], hashlib.sha256(b"what another").hexdigest()))
    assert run_step(check, {**env, "IMAGES_SHA256": made}, tmp_path).returncode != 0
    assert run_step(check, {**env, "IMAGES_SHA256": ""}, tmp_path).returncode != 0


def test_the_plan_check_refuses_a_replaced_file(tmp_path):
    check = step_named(jobs()["apply-production"], CHECK_PLAN)
    made = tmp_path / "artifact"
    made.write_bytes(b"what the job made")
    made_sum = hashlib.sha256(made.read_bytes()).hexdigest()
    env = {"PLAN": str(made)}
    assert run_step(check, {**env, "PLAN_SHA256": made_sum}, tmp_path).returncode == 0
    made.write_bytes(b"what another job of the run uploaded under the same name")
    bad = run_step(check, {**env, "PLAN_SHA256": made_sum}, tmp_path)
    assert bad.returncode != 0 and "Plan checksum mismatch" in bad.stdout
    assert run_step(check, {**env, "PLAN_SHA256": ""}, tmp_path).returncode != 0


# --- the image build loop -------------------------------------------------------------


def test_deploy_images_lists_each_services_dockerfile_and_context(tmp_path):
    script = ROOT / ".github/scripts/deploy_images.py"

    def listing(text: str, name: str = "deploy.yaml") -> subprocess.CompletedProcess:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return subprocess.run([sys.executable, str(script), name], capture_output=True, text=True, cwd=tmp_path)

    repo = subprocess.run([sys.executable, str(script), "deploy.yaml"], capture_output=True, text=True, cwd=ROOT)
    assert repo.returncode == 0, repo.stderr
    services = sorted(load_yaml(ROOT / "deploy.yaml")["services"])
    assert [line.split("\t")[0] for line in repo.stdout.splitlines()] == services
    # Paths are relative to the file.
    done = listing("version: 2\nservices:\n  api: {image: {dockerfile: api/Dockerfile, context: api}}\n", "app/d.yaml")
    assert done.stdout == "api\tapp/api/Dockerfile\tapp/api\n"
    for bad, says in (
        ("environments: {}\n", "version None"),
        ("version: 2\nservices:\n  api: {port: 80}\n", "services.api.image.dockerfile"),
        ("version: 2\nservices:\n  api: {image: {dockerfile: '${DF}'}}\n", "services.api.image.dockerfile"),
    ):
        done = listing(bad)
        assert done.returncode != 0 and says in done.stderr, (bad, done.stderr)


def test_build_images_builds_one_archive_per_dockerfile_and_context(tmp_path):
    """build-images.sh with a `docker` that records its calls and writes an archive."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "svc/Dockerfile").write_text("FROM scratch\n")
    (repo / "other.Dockerfile").write_text("FROM scratch\n")
    (repo / "deploy.yaml").write_text(
        "version: 2\nservices:\n"
        "  web: {image: {dockerfile: svc/Dockerfile, context: svc}}\n"
        "  public: {image: {dockerfile: svc/Dockerfile, context: svc}}\n"
        "  worker: {image: {dockerfile: other.Dockerfile, context: .}}\n"
    )
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "docker").write_text(
        "#!/bin/bash\n"
        f'echo "$SOURCE_DATE_EPOCH $*" >> {calls}\n'
        'for a in "$@"; do case $a in type=oci,dest=*) out=${a#type=oci,dest=}; out=${out%%,*} ;; esac; done\n'
        'echo "archive of $*" > "$out"\n'
    )
    (bin_dir / "docker").chmod(0o755)
    dest = tmp_path / "images"
    done = subprocess.run(
        ["bash", str(ROOT / ".github/scripts/build-images.sh"), "deploy.yaml", str(dest)],
        cwd=repo,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    builds = calls.read_text().splitlines()
    assert len(builds) == 2, builds
    assert all(re.match(r"\d+ buildx build --file ", b) and "--provenance=false --sbom=false" in b for b in builds)
    assert all("rewrite-timestamp=true" in b for b in builds)
    assert (dest / "services.tsv").read_text() == "public\timage-1.tar\nweb\timage-1.tar\nworker\timage-2.tar\n"
    check = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=dest, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 3, check.stdout


# --- pull requests and forks (issue 17 item 10) ----------------------------------------


def test_pull_requests_preview_staging():
    call = load_yaml(ROOT / ".github/workflows/pr.yml")["jobs"]["test-and-preview"]
    assert call["with"] == {"environment": "staging", "dry-run": True}


def test_the_fork_notice_asks_for_review_and_never_suggests_pushing_fork_branches():
    notice = load_yaml(ROOT / ".github/workflows/pr.yml")["jobs"]["fork-notice"]
    msg = re.search(r'msg="([^"]*)"', notice["steps"][0]["run"]).group(1)
    assert re.search(r"review the code first", msg, re.I), msg
    assert re.search(r"never push an untrusted branch into this repository", msg, re.I), msg
    # The old advice ("A maintainer can preview by pushing the branch to this repository").
    without_the_warning = re.sub(r"never push[^.]*\.", "", msg, flags=re.I)
    assert not re.search(r"push", without_the_warning, re.I), msg


# --- the cargo stand-in's key for the deployer sources -------------------------------------------------------


@pytest.fixture
def key_repo(tmp_path):
    for rel in (
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "deployer/src/main.rs",
        "service/src/main.rs",
        "deploy.yaml",
        "cfn/github-oidc.yaml",
        "cfn/pull-request-previews.yaml",
        "deployer/src/commands/bootstrap/mod.rs",
    ):
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)

    def key() -> str:
        return subprocess.run(
            ["bash", str(ROOT / "tests/workflows/deployer-sources-key.sh")],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    return tmp_path, key


def test_the_deployer_cache_key_follows_the_deployer_sources_only(key_repo):
    repo, key = key_repo
    first = key()
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    (repo / "cfn/service.yaml").write_text("Resources: {}\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    first = key()
    for unrelated in ("README.md", "service/src/main.rs", "deploy.yaml", "cfn/service.yaml"):
        (repo / unrelated).write_text((repo / unrelated).read_text() + "\n# unrelated edit\n")
    assert key() == first, "docs, app or template edits must not rebuild the deployer"
    (repo / "deployer/src/main.rs").write_text((repo / "deployer/src/main.rs").read_text() + "\n// edit\n")
    assert key() != first
    second = key()
    (repo / "Cargo.lock").write_text((repo / "Cargo.lock").read_text() + "\n")
    assert key() != second
    third = key()
    # `deployer bootstrap` embeds this template (include_str!): it is a deployer source.
    (repo / "cfn/github-oidc.yaml").write_text((repo / "cfn/github-oidc.yaml").read_text() + "\n# edit\n")
    assert key() != third


# --- pull-request previews: pr.yml and preview-prune.yml (issue 19) ---------------------

PR = ROOT / ".github/workflows/pr.yml"
PRUNE = ROOT / ".github/workflows/preview-prune.yml"
PR_ROLE = "${{ vars.AWS_PULL_REQUEST_ROLE_ARN }}"


@functools.cache
def pr_jobs() -> dict:
    return load_yaml(PR)["jobs"]


@functools.cache
def prune_jobs() -> dict:
    return load_yaml(PRUNE)["jobs"]


def all_jobs() -> dict[str, dict]:
    """Every job of every workflow, as `file:job`."""
    found = {}
    for path in sorted((ROOT / ".github/workflows").glob("*.yml")):
        for name, job in load_yaml(path)["jobs"].items():
            found[f"{path.name}:{name}"] = job
    return found


def pr_event(action: str, fork: bool = False) -> dict:
    head = "someone/fork" if fork else "o/r"
    return {
        "event_name": "pull_request",
        "repository": "o/r",
        "event": {"action": action, "pull_request": {"number": 7, "head": {"repo": {"full_name": head}}}},
    }


def pr_runs(job: str, action: str, fork: bool = False, **results) -> bool:
    """Whether GitHub would start pr.yml's `job` for this pull-request action."""
    needs = pr_jobs()[job].get("needs", [])
    needs = {n: {"result": results.get(n.replace("-", "_"), "success")} for n in [needs] if isinstance(n, str)} | {
        n: {"result": results.get(n.replace("-", "_"), "success")} for n in (needs if isinstance(needs, list) else [])
    }
    condition = pr_jobs()[job].get("if", "true")
    if not re.search(r"\b(always|cancelled|failure|success)\(", condition) and any(
        n["result"] != "success" for n in needs.values()
    ):
        return False
    return bool(evaluate(condition, github=pr_event(action, fork), needs=needs))


def test_each_pull_request_action_runs_its_jobs():
    """Opened, pushed to, reopened: tests, staging dry run, the preview and the comment.
    Closed: only `preview down` (and the deployer it runs), no tests. Forks: tests and the
    notice, never a preview or anything with credentials."""
    assert load_yaml(PR)[True]["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]
    expected = {
        (False, "open"): {"test-and-preview", "preview", "comment"},
        (True, "open"): {"test-and-preview", "fork-notice"},
        (False, "closed"): {"build-deployer", "preview-down"},
        (True, "closed"): set(),
    }
    for action in ("opened", "synchronize", "reopened", "closed"):
        for fork in (False, True):
            started = {job for job in pr_jobs() if pr_runs(job, action, fork)}
            assert started == expected[(fork, "closed" if action == "closed" else "open")], (action, fork)
    # A failed preview still gets its comment (it says so); failed tests get none.
    assert pr_runs("comment", "synchronize", preview="failure")
    assert pr_runs("comment", "synchronize", preview="skipped")
    assert not pr_runs("comment", "synchronize", test_and_preview="failure", preview="skipped")
    assert not pr_runs("preview", "synchronize", test_and_preview="failure")
    assert pr_jobs()["preview"]["needs"] == "test-and-preview"
    assert pr_jobs()["preview-down"]["needs"] == "build-deployer"


def test_up_and_down_of_one_pull_request_never_run_at_once():
    """Pushes cancel the runs they supersede; a close is a group of its own that nothing
    cancels; `preview` and `preview-down` share one never-cancelled lock per pull request."""
    concurrency = load_yaml(PR)["concurrency"]
    groups = {a: interpolate(concurrency["group"], github=pr_event(a)) for a in ("opened", "synchronize", "reopened")}
    assert len(set(groups.values())) == 1 and "7" in groups["opened"]
    closed = interpolate(concurrency["group"], github=pr_event("closed"))
    assert closed != groups["opened"] and "7" in closed
    for action in ("opened", "synchronize", "reopened"):
        assert evaluate(concurrency["cancel-in-progress"], github=pr_event(action)) is True, action
    assert evaluate(concurrency["cancel-in-progress"], github=pr_event("closed")) is False
    locks = {name: job["concurrency"] for name, job in pr_jobs().items() if "concurrency" in job}
    assert sorted(locks) == ["preview", "preview-down"]
    assert locks["preview"] == locks["preview-down"]
    assert locks["preview"]["cancel-in-progress"] is False
    assert interpolate(locks["preview"]["group"], github=pr_event("opened")) == "preview-pr-7"
    # Inside the lock, `up` first asks whether the pull request is still open, and every
    # step after that question depends on its answer.
    steps = pr_jobs()["preview"]["steps"]
    asked = first_step(pr_jobs()["preview"], lambda s: s.get("id") == "open")
    assert "pull_requests.py state" in steps[asked]["run"]
    for s in steps[asked + 1 :]:
        assert "steps.open.outputs.state == 'open'" in s.get("if", ""), s.get("name") or s.get("uses")


def test_the_pull_request_role_is_assumed_only_by_the_preview_jobs():
    """AWS_PULL_REQUEST_ROLE_ARN: pr.yml's preview and preview-down, preview-prune.yml's
    prune, nothing else; and no job that runs for a pull request assumes a plan or deploy
    role (the staging dry run's preview role is chosen by the event, tested above)."""
    using = {name for name, job in all_jobs().items() if "AWS_PULL_REQUEST_ROLE_ARN" in job_text(job)}
    assert using == {"pr.yml:preview", "pr.yml:preview-down", "preview-prune.yml:prune"}
    # The role (cfn/github-oidc.yaml) trusts exactly these two workflow files, and no job
    # using it names a GitHub environment (that would change the OIDC subject it trusts).
    template = (ROOT / "cfn/pull-request-previews.yaml").read_text()
    role = re.search(r"\n  PullRequestRole:\n(.*?)\n  \w+:\n    Type:", template, re.S)
    assert role, "cfn/pull-request-previews.yaml has no PullRequestRole"
    trust = role.group(1).split("Policies:")[0]
    assert set(re.findall(r"\.github/workflows/([\w.-]+)@", trust)) == {name.split(":")[0] for name in using}
    assert not any("environment" in all_jobs()[name] for name in using)
    for name in using:
        assert credentials_step(all_jobs()[name])["with"]["role-to-assume"] == PR_ROLE, name
    for name, job in pr_jobs().items():
        assert not re.search(r"AWS_(PLAN|DEPLOY)_ROLE_ARN", job_text(job)), name
        if any("configure-aws" in s.get("uses", "") for s in job.get("steps", [])):
            assert credentials_step(job)["with"]["role-to-assume"] == PR_ROLE, name
    pr = {"environment": "staging", "dry-run": True}
    assert started_jobs("pull_request", pr) & set(ROLE_JOBS) == {"plan-staging"}
    assert plan_role_variable("plan-staging", "pull_request") == "AWS_PREVIEW_ROLE_ARN"


def test_the_call_grants_what_the_called_jobs_ask_for():
    """GitHub refuses a called workflow whose job asks for more than the caller's job
    grants (e.g. plan-staging's `actions: read` for its artifact downloads)."""
    granted = pr_jobs()["test-and-preview"]["permissions"]
    for name, job in jobs().items():
        for scope, level in job.get("permissions", {}).items():
            assert granted.get(scope) in (level, "write"), (name, scope, level, granted)


def test_preview_jobs_ask_only_for_what_they_use():
    """id-token only where a role is assumed; pull-requests: write only for the comment."""
    for path, expected_token, readers in (
        (PR, {"test-and-preview", "preview", "preview-down"}, {"preview"}),
        (PRUNE, {"prune"}, {"prune"}),
    ):
        workflow = load_yaml(path)
        assert workflow["permissions"] == {"contents": "read"}, path.name
        for name, job in workflow["jobs"].items():
            permissions = job.get("permissions", {})
            assert (permissions.get("id-token") == "write") == (name in expected_token), (path.name, name)
            wanted = "write" if (path, name) == (PR, "comment") else ("read" if name in readers else None)
            assert permissions.get("pull-requests") == wanted, (path.name, name)
            assert set(permissions.values()) <= {"read", "write"}
            assert not {k for k, v in permissions.items() if v == "write"} - {"id-token", "pull-requests"}


def test_preview_jobs_run_only_the_checked_deployer_and_images():
    """The same checks as deploy.yml's jobs, word for word; pr.yml's preview gets the
    checksums from the call's outputs, which are the build jobs' own."""
    reference = jobs()["apply-staging"]
    outputs = load_yaml(DEPLOY)[True]["workflow_call"]["outputs"]
    assert outputs["deployer-sha256"]["value"] == "${{ jobs.build-deployer.outputs.sha256 }}"
    assert outputs["images-sha256"]["value"] == "${{ jobs.build-images.outputs.sha256 }}"
    cases = (
        (pr_jobs()["preview"], "${{ needs.test-and-preview.outputs.deployer-sha256 }}"),
        (pr_jobs()["preview-down"], "${{ needs.build-deployer.outputs.sha256 }}"),
        (prune_jobs()["prune"], "${{ needs.build-deployer.outputs.sha256 }}"),
    )
    for job, source in cases:
        checked = first_step(job, lambda s: s.get("name") == CHECK_DEPLOYER)
        downloaded = first_step(job, lambda s: s.get("with", {}).get("name") == "deployer")
        used = first_step(job, lambda s: "bin/deployer" in s.get("run", "") and s.get("name") != CHECK_DEPLOYER)
        credentials = first_step(job, lambda s: "configure-aws" in s.get("uses", ""))
        assert downloaded < checked < used and checked < credentials
        check = job["steps"][checked]
        assert check["run"] == step_named(reference, CHECK_DEPLOYER)["run"]
        assert check["env"] == {**step_named(reference, CHECK_DEPLOYER)["env"], "DEPLOYER_SHA256": source}
    preview = pr_jobs()["preview"]
    images = step_named(preview, CHECK_IMAGES)
    assert images["run"] == step_named(reference, CHECK_IMAGES)["run"]
    assert images["env"] == {**step_named(reference, CHECK_IMAGES)["env"], "IMAGES_SHA256": (
        "${{ needs.test-and-preview.outputs.images-sha256 }}")}  # fmt: skip
    checked = first_step(preview, lambda s: s.get("name") == CHECK_IMAGES)
    assert checked < first_step(preview, lambda s: s.get("id") == "up")
    # The closed and scheduled runs build the deployer as deploy.yml does (no cache, no tests).
    for workflow in (pr_jobs(), prune_jobs()):
        assert workflow["build-deployer"]["steps"] == jobs()["build-deployer"]["steps"]
        assert workflow["build-deployer"]["outputs"] == jobs()["build-deployer"]["outputs"]


def test_preview_sessions_outlive_their_jobs():
    for job in (pr_jobs()["preview"], pr_jobs()["preview-down"], prune_jobs()["prune"]):
        session = int(credentials_step(job)["with"]["role-duration-seconds"])
        assert session >= job["timeout-minutes"] * 60
        previews = load_yaml(ROOT / "cfn/pull-request-previews.yaml")["Resources"]["PullRequestRole"]["Properties"]
        assert previews.get("MaxSessionDuration", 3600) >= session
    # `preview up` follows its change sets within the preview environment's wait_timeout,
    # then waits for every service to be ready within its --ready-timeout (20m by
    # default): both, and the pushes, inside the job.
    minutes = re.fullmatch(r"(\d+)m", wait_timeout("preview"))
    cli = (ROOT / "deployer/src/cli/preview.rs").read_text()
    ready = re.search(r'default_value = "(\d+)m"\)\]\n\s*pub ready_timeout', cli)
    assert minutes and ready, "deploy.yaml's preview wait_timeout or preview up's --ready-timeout default moved"
    assert int(minutes.group(1)) + int(ready.group(1)) + 5 <= pr_jobs()["preview"]["timeout-minutes"]


def run_job_step(tmp_path: Path, step_: dict, env: dict[str, str], services: str = "") -> list[str]:
    """Runs a step that calls the deployer, with a deployer that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    args_file = tmp_path / "args"
    (bin_dir / "deployer").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {args_file}\necho "{{}}"\n')
    (bin_dir / "deployer").chmod(0o755)
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    (images / "services.tsv").write_text(services)
    done = run_step(step_, {"RUNNER_TEMP": str(tmp_path), "IMAGES": str(images), **env}, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return args_file.read_text().splitlines()


def test_the_preview_steps_run_up_down_and_prune(tmp_path):
    images = tmp_path / "images"
    report = tmp_path / "preview-up/preview-report.json"
    up = step(pr_jobs()["preview"], "up")
    tsv = "public\timage-1.tar\nweb\timage-1.tar\n"
    args = run_job_step(tmp_path, up, {"PR_NUMBER": "7", "COMMIT": "abc123", "REPORT": str(report)}, tsv)
    assert args == [
        "preview", "up", "--config", "deploy.yaml", "--pr", "7",
        "--image", f"public=oci-archive:{images}/image-1.tar",
        "--image", f"web=oci-archive:{images}/image-1.tar",
        "--commit", "abc123", "--output", "json",
    ]  # fmt: skip
    assert report.read_text() == "{}\n", "the JSON report goes to the file the comment reads"
    assert up["env"]["COMMIT"] == "${{ github.sha }}" and up["env"]["REPORT"].endswith("preview-report.json")
    down = pr_jobs()["preview-down"]["steps"][-1]
    assert run_job_step(tmp_path, down, {"PR_NUMBER": "7"}) == [
        "preview", "down", "--config", "deploy.yaml", "--pr", "7",
    ]  # fmt: skip
    prune = prune_jobs()["prune"]["steps"][-1]
    pruned = run_job_step(tmp_path, prune, {"KEEP": "3,7", "MAX_AGE": "7d"})
    assert pruned == ["preview", "prune", "--config", "deploy.yaml", "--keep", "3,7", "--older-than", "7d"]
    none_open = run_job_step(tmp_path, prune, {"KEEP": "", "MAX_AGE": "7d"})
    assert none_open[-4:] == ["--keep", "", "--older-than", "7d"], "no open pull request: keep none"
    # Each passes exactly the variables deploy.yaml's preview environment reads, the
    # service role being the previews' own (CFN_PULL_REQUEST_ROLE_ARN), never the
    # environment's CloudFormationRole: a pull request writes the template it runs.
    section = yaml.safe_dump(load_yaml(ROOT / "deploy.yaml")["environments"]["preview"])
    wanted = set(re.findall(r"\$\{(\w+)\}", section))
    assert "CFN_ROLE_ARN_PREVIEW" in wanted
    for s in (up, down, prune):
        passed = {k for k, v in s["env"].items() if v == f"${{{{ vars.{k} }}}}"}
        assert passed == wanted - {"CFN_ROLE_ARN_PREVIEW"}, sorted(passed ^ wanted)
        assert s["env"]["CFN_ROLE_ARN_PREVIEW"] == "${{ vars.CFN_PULL_REQUEST_ROLE_ARN }}"
    for path in (PR, PRUNE):
        assert "vars.CFN_ROLE_ARN_PREVIEW" not in path.read_text(), path.name
    # The comment gets the preview's report, whatever became of the job.
    comment = pr_jobs()["comment"]
    assert comment["needs"] == ["test-and-preview", "preview"]
    assert "--preview" in comment["steps"][-1]["run"]
    assert comment["steps"][-1]["env"]["PREVIEW_RESULT"] == "${{ needs.preview.result }}"
    kept = next(s for s in pr_jobs()["preview"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "!cancelled()" in kept["if"] and kept["with"]["name"] == "pull-request-preview"


def test_the_prune_workflow_runs_on_main_only_and_lists_open_pull_requests_first():
    on = load_yaml(PRUNE)[True]
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["workflow_dispatch"] is None, "no inputs: nothing to inject"
    for name, job in prune_jobs().items():
        assert job["if"] == "github.ref == 'refs/heads/main'", name
    prune = prune_jobs()["prune"]
    listed = first_step(prune, lambda s: s.get("id") == "open")
    assert "pull_requests.py open" in prune["steps"][listed]["run"]
    assert listed < first_step(prune, lambda s: "configure-aws" in s.get("uses", ""))
    assert prune["steps"][-1]["env"]["KEEP"] == "${{ steps.open.outputs.numbers }}"
    assert prune["steps"][-1]["env"]["MAX_AGE"] == "${{ steps.open.outputs.max-age }}"
    assert "preview_max_age.py deploy.yaml" in prune["steps"][listed]["run"]
    assert load_yaml(PRUNE)["concurrency"] == {"group": "preview-prune", "cancel-in-progress": False}
