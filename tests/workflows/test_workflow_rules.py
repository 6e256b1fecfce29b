"""Rules about the workflows that need no act run: the test matrix names every check
group; each job assumes the role meant for it (plan: the plan or preview role by event;
apply: the deploy role; discard: the plan role) and its session outlives the job; the job
graph (plan after the builds only, apply after the plan and every test, no workflow-level
lock, a failed test discards the plan); artifacts survive the approval window and re-runs;
the deployer and image are built in the run without caches and checked by sha256 before
use; pull requests do not write the image cache; the fork notice; the act stand-ins' keys
(the preview comment has its own tests: test_preview_comment.py)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
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


def jobs() -> dict:
    return load_yaml(DEPLOY)["jobs"]


def credentials_step(job: dict) -> dict:
    return next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))


def step(job: dict, step_id: str) -> dict:
    return next(s for s in job["steps"] if s.get("id") == step_id)


def step_named(job: dict, name: str) -> dict:
    return next(s for s in job["steps"] if s.get("name") == name)


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
    return eval(python, {"__builtins__": {}}, namespace)  # noqa: S307 - our own workflow file


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


def plan_role_variable(event: str) -> str:
    """The repository variable whose role the plan job assumes for this event."""
    plan = jobs()["plan"]
    chooser = evaluate(plan["env"]["ROLE_VARIABLE"], github=EVENTS[event])
    role = credentials_step(plan)["with"]["role-to-assume"]
    # Indexed by name: an unset variable is empty, never another role.
    assert role == "${{ vars[env.ROLE_VARIABLE] }}", role
    return chooser


def test_the_plan_job_takes_the_preview_role_for_pull_requests_and_the_plan_role_otherwise():
    assert plan_role_variable("pull_request") == "AWS_PREVIEW_ROLE_ARN"
    assert plan_role_variable("push") == "AWS_PLAN_ROLE_ARN"
    assert plan_role_variable("workflow_dispatch") == "AWS_PLAN_ROLE_ARN"
    plan = jobs()["plan"]
    # No GitHub environment: the roles trust the workflow file and ref, not a name.
    assert "environment" not in plan
    # The job checks the variable it will use, under its own name, before any download.
    check = plan["steps"][1]
    assert check["name"] == "Check the variables this job itself needs"
    assert 'for name in AWS_REGION "$ROLE_VARIABLE"' in check["run"]
    for name in ("AWS_PLAN_ROLE_ARN", "AWS_PREVIEW_ROLE_ARN", "AWS_REGION"):
        assert check["env"][name] == f"${{{{ vars.{name} }}}}"


def test_only_apply_uses_the_deploy_role_and_the_production_environment():
    with_credentials = {
        name: job for name, job in jobs().items() if any("configure-aws" in s.get("uses", "") for s in job["steps"])
    }
    assert sorted(with_credentials) == ["apply", "discard", "plan"]
    for name, job in jobs().items():
        text = job_text(job)
        assert ("AWS_DEPLOY_ROLE_ARN" in text) == (name == "apply"), name
        assert ("environment" in job) == (name == "apply"), f"job {name}: only apply names a GitHub environment"
    apply = jobs()["apply"]
    assert credentials_step(apply)["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert apply["environment"]["name"] == "${{ inputs.environment || 'production' }}"
    assert credentials_step(jobs()["discard"])["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    # Each role-using job may ask for an OIDC token; no other job may.
    for name, job in jobs().items():
        assert (job.get("permissions", {}).get("id-token") == "write") == (name in with_credentials), name


def role_limit(resource: str) -> int:
    roles = bootstrap()["Resources"]
    return roles.get(resource, {}).get("Properties", {}).get("MaxSessionDuration", 3600)


def test_the_aws_sessions_outlive_their_jobs_and_the_stack_wait():
    # The roles each job may assume (cfn/github-oidc.yaml resources).
    roles = {"plan": ["PlanRole", "PreviewRole"], "apply": ["DeployRole"], "discard": ["PlanRole"]}
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
    wait = load_yaml(ROOT / "deploy.yaml")["environments"]["production"]["wait_timeout"]
    minutes = re.fullmatch(r"(\d+)m", wait)
    assert minutes, f"deploy.yaml production wait_timeout {wait!r}: this test reads minutes only"
    apply_session = int(credentials_step(jobs()["apply"])["with"]["role-duration-seconds"])
    # The push comes before the wait, inside the same session: leave it time.
    assert int(minutes.group(1)) * 60 + 10 * 60 <= apply_session


def test_the_plan_is_made_from_deploy_yaml_and_only_apply_executes_it():
    plan, apply = jobs()["plan"], jobs()["apply"]
    run = step(plan, "plan")["run"]
    assert "deploy --config deploy.yaml" not in run  # the args array form below
    assert '--config deploy.yaml --environment "$ENVIRONMENT"' in run
    assert "--plan-out" in run and "--dry-run" in run and "--yes" not in run
    assert "apply" not in run
    # The history, for the deployer's ordering check.
    checkout = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert "!inputs.dry-run" in apply["if"] and "needs.plan.outputs.has-changes == 'true'" in apply["if"]
    assert re.search(r'deployer" apply "\$PLAN" --image ', step(apply, "apply")["run"])


def test_every_deploy_yaml_variable_is_filled_from_the_repository_variable_of_its_name():
    """deploy.yaml's production environment is what CI deploys; the plan step hands it
    exactly the repository variables its ${VAR}s name (a forgotten one would stop CI)."""
    text = (ROOT / "deploy.yaml").read_text()
    production = text[text.index("\n  production:") :]
    wanted = set(re.findall(r"\$\{(\w+)\}", production))
    assert {"STACK_NAME", "AWS_REGION", "CFN_ROLE_ARN"} <= wanted
    env = step(jobs()["plan"], "plan")["env"]
    for name in wanted:
        assert env.get(name) == f"${{{{ vars.{name} }}}}", f"the plan step does not pass vars.{name} as {name}"


def test_every_remote_action_has_a_stand_in_or_is_handled_by_act():
    used = remote_actions(ROOT / ".github/workflows")
    assert set(used) <= set(STANDIN_FOR)
    for action, folder in STANDIN_FOR.items():
        if folder:
            assert (ROOT / "tests/workflows/actions" / folder).is_dir(), action


# --- the job graph: fast, and never serialised behind people (issue 17 item 6) -------


def test_plan_waits_only_for_the_builds_and_apply_for_the_plan_and_every_test():
    graph = jobs()
    assert sorted(graph["plan"]["needs"]) == ["build-deployer", "build-image"]
    assert {"plan", "test"} <= set(graph["apply"]["needs"])
    # `needs: test` on a matrix job waits for every group and fails if any failed; the
    # matrix must not stop at the first failure (fail-fast), or a group would be skipped.
    assert graph["test"]["strategy"]["fail-fast"] is False
    # apply's `if` has no status function, so GitHub adds success(): every need passed.
    assert not re.search(r"\b(always|failure|cancelled)\(", graph["apply"]["if"])
    for name in ("test", "build-deployer", "build-image"):
        assert "needs" not in graph[name], f"{name} must start at once"


def test_no_workflow_level_lock_and_apply_holds_the_only_one():
    # A workflow-level group would hold a later push's tests and plan behind an approval.
    assert "concurrency" not in load_yaml(DEPLOY)
    locked = {name: job["concurrency"] for name, job in jobs().items() if "concurrency" in job}
    assert list(locked) == ["apply"]
    assert locked["apply"]["cancel-in-progress"] is False, "a running apply must never be cancelled"
    assert "inputs.environment" in locked["apply"]["group"], "one lock per environment"


def test_a_plan_whose_tests_fail_is_discarded_with_the_plan_role():
    discard = jobs()["discard"]
    assert {"test", "plan", "build-deployer"} <= set(discard["needs"])
    condition = discard["if"]

    def runs(test: str, plan: str = "success", changes: str = "true", dry_run: bool = False) -> bool:
        # always() is true; the rest is evaluated as GitHub would.
        needs = {"test": {"result": test}, "plan": {"result": plan, "outputs": {"has-changes": changes}}}
        inputs = {"dry-run": dry_run}
        return bool(evaluate(condition.replace("always()", "True"), needs=needs, inputs=inputs))

    assert "always()" in condition, "without always() the job is skipped when a test fails"
    assert runs("failure")
    assert runs("cancelled")
    assert not runs("success"), "tests passed: apply takes the plan"
    assert not runs("failure", plan="failure")
    assert not runs("failure", changes="false"), "no change set was left"
    assert not runs("failure", dry_run=True), "a dry run deleted its change set itself"
    last = discard["steps"][-1]
    assert last["run"] == '"$RUNNER_TEMP/bin/deployer" discard "$PLAN"'
    assert last["env"]["PLAN"] == "${{ runner.temp }}/plan/plan.json"


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
    assert {"deployer", "image", "plan"} <= set(found)
    for name, upload in found.items():
        # "Re-run all jobs" uploads every name again in the same run: v4 answers 409
        # Conflict unless the upload replaces the earlier attempt's.
        assert upload.get("overwrite") is True, f"artifact {name} would collide on a re-run"
    for name in ("deployer", "image", "plan"):
        # A job waiting for approval fails after 30 days: what apply downloads must last
        # longer than that (the repository's retention setting may cap it: README).
        assert int(found[name]["retention-days"]) > 30, name


def test_downloads_find_earlier_attempts_artifacts():
    """ "Re-run failed jobs" of plan, apply or discard alone must download what the first
    attempt's jobs uploaded: through the REST API (github-token, this run's id), which
    sees the whole run, not the attempt-scoped runner service; that needs `actions: read`."""
    for name in ("plan", "apply", "discard"):
        job = jobs()[name]
        downloads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
        assert downloads, name
        for s in downloads:
            assert s["with"].get("github-token") == "${{ github.token }}", (name, s["with"]["name"])
            assert s["with"].get("run-id") == "${{ github.run_id }}", (name, s["with"]["name"])
        assert job["permissions"].get("actions") == "read", name


def test_apply_downloads_only_what_its_needs_uploaded():
    """A re-run of apply alone sees the earlier attempt's artifacts and job outputs; it
    must need every job whose artifact or output it uses."""
    graph = jobs()

    def ancestors(name: str) -> set[str]:
        needs = graph[name].get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        return set(needs).union(*(ancestors(n) for n in needs)) if needs else set()

    producer = {w["name"]: job for job, w in uploads()}
    for name in ("plan", "apply", "discard"):
        for s in graph[name]["steps"]:
            if s.get("uses", "").startswith("actions/download-artifact@"):
                assert producer[s["with"]["name"]] in ancestors(name), (name, s["with"]["name"])
        for used in re.findall(r"needs\.([\w-]+)\.outputs", job_text(graph[name])):
            assert used in ancestors(name) and used in graph[name]["needs"], (name, used)


# --- what runs with production credentials is what was built (issue 17 item 8) -------

CHECK_DEPLOYER = "Check the deployer against the checksum its build job output"
CHECK_IMAGE = "Check the image archive against the checksum its build job output"
CHECK_PLAN = "Check the plan file against the checksum the plan job output"


def test_build_deployer_restores_no_cache_and_runs_no_test_code():
    build = jobs()["build-deployer"]
    used = [s["uses"].split("@")[0] for s in build["steps"] if "uses" in s]
    assert used == ["actions/checkout", "actions/upload-artifact"], used
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert "cargo build --release --locked -p deployer" in runs
    for forbidden in ("scripts/test.sh", "cargo test", "npm", "pip", "pytest", "actions/cache", "rust-cache"):
        assert forbidden not in job_text(build), forbidden
    assert build["outputs"]["sha256"] == "${{ steps.build.outputs.sha256 }}"
    assert "sha256sum dist/deployer" in step(build, "build")["run"]
    # No cache action anywhere near the jobs that hold AWS credentials or build what they run.
    for name in ("build-deployer", "plan", "apply", "discard"):
        assert not re.search(r"actions/cache|rust-cache", job_text(jobs()[name])), name


def first_step(job: dict, predicate) -> int:
    return next(i for i, s in enumerate(job["steps"]) if predicate(s))


def test_the_deployer_and_image_are_checked_before_first_use():
    graph = jobs()
    checks = {}
    for name in ("plan", "apply", "discard"):
        job = graph[name]
        checked = first_step(job, lambda s: s.get("name") == CHECK_DEPLOYER)
        used = first_step(job, lambda s: "bin/deployer" in s.get("run", "") and s.get("name") != CHECK_DEPLOYER)
        downloaded = first_step(job, lambda s: s.get("with", {}).get("name") == "deployer")
        assert downloaded < checked < used, f"{name}: download, check, then run the deployer"
        assert job["steps"][checked]["env"]["DEPLOYER_SHA256"] == "${{ needs.build-deployer.outputs.sha256 }}"
        checks[name] = job["steps"][checked]
    assert checks["plan"] == checks["apply"] == checks["discard"], "the three checks must be the same step"
    for name in ("plan", "apply"):
        job = graph[name]
        checked = first_step(job, lambda s: s.get("name") == CHECK_IMAGE)
        used = first_step(job, lambda s: "IMAGE_ARCHIVE" in s.get("env", {}) and s.get("name") != CHECK_IMAGE)
        assert checked < used, name
        assert job["steps"][checked]["env"]["IMAGE_SHA256"] == "${{ needs.build-image.outputs.sha256 }}"
    assert graph["build-image"]["outputs"]["sha256"] == "${{ steps.archive.outputs.sha256 }}"
    # The plan file names the change set apply executes (and discard deletes).
    plan_checks = []
    for name in ("apply", "discard"):
        job = graph[name]
        checked = first_step(job, lambda s: s.get("name") == CHECK_PLAN)
        used = first_step(job, lambda s: "$PLAN" in s.get("run", "") and s.get("name") != CHECK_PLAN)
        assert checked < used, name
        assert job["steps"][checked]["env"]["PLAN_SHA256"] == "${{ needs.plan.outputs.plan-sha256 }}"
        plan_checks.append(job["steps"][checked])
    assert plan_checks[0] == plan_checks[1]
    assert graph["plan"]["outputs"]["plan-sha256"] == "${{ steps.plan-sum.outputs.sha256 }}"
    summed = step(graph["plan"], "plan-sum")
    assert summed["if"] == step_named(graph["plan"], "Hand the plan to the apply job")["if"]


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
    check = step_named(jobs()["apply"], CHECK_DEPLOYER)
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


@pytest.mark.parametrize(
    ("job", "name", "file_var", "sum_var", "error"),
    [
        ("plan", CHECK_IMAGE, "IMAGE_ARCHIVE", "IMAGE_SHA256", "Image checksum mismatch"),
        ("apply", CHECK_PLAN, "PLAN", "PLAN_SHA256", "Plan checksum mismatch"),
    ],
)
def test_the_image_and_plan_checks_refuse_a_replaced_file(tmp_path, job, name, file_var, sum_var, error):
    check = step_named(jobs()[job], name)
    made = tmp_path / "artifact"
    made.write_bytes(b"what the job made")
    made_sum = hashlib.sha256(made.read_bytes()).hexdigest()
    env = {file_var: str(made)}
    assert run_step(check, {**env, sum_var: made_sum}, tmp_path).returncode == 0
    made.write_bytes(b"what another job of the run uploaded under the same name")
    bad = run_step(check, {**env, sum_var: made_sum}, tmp_path)
    assert bad.returncode != 0 and error in bad.stdout
    assert run_step(check, {**env, sum_var: ""}, tmp_path).returncode != 0


# --- pull requests and forks (issue 17 item 10) ----------------------------------------


def test_pull_requests_do_not_write_the_image_cache():
    build = next(s for s in jobs()["build-image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    cache_to = build["with"]["cache-to"]
    assert evaluate(cache_to, github=EVENTS["push"]) == "type=gha,mode=max"
    assert evaluate(cache_to, github=EVENTS["pull_request"]) == ""
    # A dispatch on another branch neither.
    assert evaluate(cache_to, github={"event_name": "workflow_dispatch", "ref": "refs/heads/feature"}) == ""
    assert build["with"]["cache-from"] == "type=gha"


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
        "cfn/app.yaml",
        "cfn/github-oidc.yaml",
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
    for unrelated in ("README.md", "service/src/main.rs", "cfn/app.yaml"):
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
