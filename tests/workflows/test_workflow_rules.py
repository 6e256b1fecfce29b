"""Rules about the workflows that need no act run: the test matrix names every check
group, the AWS session outlives the deploy, the deployer's cache key follows its sources
(the preview comment has its own tests: test_preview_comment.py)."""

from __future__ import annotations

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


def bootstrap() -> dict:
    return load_yaml(ROOT / "cfn/github-oidc.yaml")


def test_each_job_assumes_the_role_that_trusts_its_environment():
    """The plan role trusts only `preview`, the deploy role only the deployed environment
    (cfn/github-oidc.yaml): a job in another environment would be refused by STS."""
    params = bootstrap()["Parameters"]
    trusted = {
        "vars.AWS_PLAN_ROLE_ARN": params["PlanEnvironment"]["Default"],
        "vars.AWS_DEPLOY_ROLE_ARN": params["Environment"]["Default"],
    }
    with_credentials = {
        name: job for name, job in jobs().items() if any("configure-aws" in s.get("uses", "") for s in job["steps"])
    }
    assert sorted(with_credentials) == ["apply", "plan"]
    for name, job in with_credentials.items():
        role = re.fullmatch(r"\$\{\{ (vars\.\w+) \}\}", credentials_step(job)["with"]["role-to-assume"]).group(1)
        environment = job["environment"] if isinstance(job["environment"], str) else job["environment"]["name"]
        # The apply job's environment is the input, `production` unless asked otherwise.
        environment = environment.replace("${{ inputs.environment || 'production' }}", "production")
        assert trusted[role] == environment, f"job {name} runs in {environment} but assumes {role}"
    assert jobs()["plan"]["environment"] == "preview", "the plan job must run where the plan role is trusted"


def test_the_aws_sessions_outlive_their_jobs_and_the_stack_wait():
    roles = bootstrap()["Resources"]
    limits = {
        "vars.AWS_PLAN_ROLE_ARN": roles["PlanRole"]["Properties"].get("MaxSessionDuration", 3600),
        "vars.AWS_DEPLOY_ROLE_ARN": roles["DeployRole"]["Properties"].get("MaxSessionDuration", 3600),
    }
    for name in ("plan", "apply"):
        job = jobs()[name]
        creds = credentials_step(job)["with"]
        session = int(creds.get("role-duration-seconds", 3600))
        # The session covers the whole job.
        assert session >= job["timeout-minutes"] * 60, name
        # STS refuses a session longer than the role's MaxSessionDuration.
        role = creds["role-to-assume"].strip("${} ")
        assert limits[role] >= session, (
            f"cfn/github-oidc.yaml allows {limits[role]} s for {role}, but job {name} asks for {session} s "
            "(role-duration-seconds): STS would refuse it"
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
    assert apply["needs"] == ["plan"]
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


# --- the deployer's cache key -------------------------------------------------------


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
        ".github/scripts/deployer-cache-key.sh",
    ):
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)

    def key() -> str:
        return subprocess.run(
            [".github/scripts/deployer-cache-key.sh"], cwd=tmp_path, check=True, capture_output=True, text=True
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
