"""Rules about the workflows that need no act run: the test matrix names every check
group, the AWS session outlives the deploy, the deployer's cache key follows its sources,
and the preview comment is sticky and safe with pull-request text."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from act_harness import ROOT, STANDIN_FOR, remote_actions
from fake_github import FakeGitHub

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


def test_the_aws_session_outlives_the_deploy_job():
    deploy = load_yaml(DEPLOY)["jobs"]["deploy"]
    creds = next(s for s in deploy["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    session = int(creds["with"]["role-duration-seconds"])
    # The session covers the whole job: push, change set and the --wait-timeout wait.
    assert session >= deploy["timeout-minutes"] * 60
    run = next(s for s in deploy["steps"] if s.get("id") == "deploy")["run"]
    wait = re.search(r"--wait-timeout (\d+)m", run)
    assert wait and int(wait.group(1)) * 60 < session
    # STS refuses a session longer than the role's MaxSessionDuration.
    roles = load_yaml(ROOT / "cfn/github-oidc.yaml")["Resources"]
    for name in ("DeployRole", "PlanRole"):
        limit = roles[name]["Properties"].get("MaxSessionDuration", 3600)
        assert limit >= session, (
            f"cfn/github-oidc.yaml {name} MaxSessionDuration is {limit} s, but deploy.yml asks for a "
            f"{session} s session (role-duration-seconds): STS would refuse it; set MaxSessionDuration: {session}"
        )


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


# --- the preview comment ---------------------------------------------------------------


def comment_module():
    spec = importlib.util.spec_from_file_location("preview_comment", ROOT / ".github/scripts/preview_comment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REPORT = {
    "stack_name": "app",
    "has_changes": True,
    "image_uri": "1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64,
    "changes": [
        {
            "action": "Modify",
            "logical_id": "Service",
            "resource_type": "AWS::ECS::Service",
            "replacement": "False",
            "details": ["Properties.Name: `x` | <img src=x> @org/team\n<!-- alb-cognito-deploy:preview -->"],
        }
    ],
    "parameter_changes": [{"name": "ImageUri", "old": None, "new": "b|c"}],
}


def test_the_comment_escapes_pull_request_text():
    pc = comment_module()
    body = pc.render(REPORT, "https://github.example/run/1")
    assert body.startswith(pc.MARKER + "\n")
    assert body.count(pc.MARKER) == 1, "PR text must not be able to fake the marker"
    assert "<img" not in body and "&lt;img src=x&gt;" in body
    assert "@org" not in body, "PR text must not mention anyone"
    row = next(line for line in body.splitlines() if line.startswith("| Modify"))
    assert row.count(" | ") == 4, f"a pipe in PR text broke the table row: {row}"
    assert "| ImageUri |  | b\\|c |" in body


def test_the_comment_says_when_nothing_changes():
    body = comment_module().render({"stack_name": "app", "has_changes": False}, "u")
    assert "No changes" in body and "| Action |" not in body


def test_the_comment_is_created_once_then_edited_in_place(tmp_path, monkeypatch):
    pc = comment_module()
    data = copy.deepcopy(REPORT)
    report = tmp_path / "report.json"
    report.write_text(json.dumps(data))
    with FakeGitHub("t0ken") as gh:
        # A person quoting the marker, and 150 other comments (two pages).
        gh.add_comment(5, pc.MARKER + " quoted by a person", bot=False)
        for i in range(150):
            gh.add_comment(5, f"comment {i}", bot=i % 2 == 0)
        for name, value in {
            "GITHUB_TOKEN": "t0ken",
            "GITHUB_API_URL": gh.url,
            "GITHUB_REPOSITORY": "o/r",
            "PR_NUMBER": "5",
            "GITHUB_RUN_ID": "9",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }.items():
            monkeypatch.setenv(name, value)
        assert pc.main(["x", str(report)]) == 0
        ours = [c for c in gh.on_issue(5) if c["body"].startswith(pc.MARKER + "\n")]
        assert len(ours) == 1 and gh.writes() == [("POST", "/repos/o/r/issues/5/comments")]
        data["changes"][0]["action"] = "Remove"
        report.write_text(json.dumps(data))
        assert pc.main(["x", str(report)]) == 0
        ours_now = [c for c in gh.on_issue(5) if c["body"].startswith(pc.MARKER + "\n")]
        assert [c["id"] for c in ours_now] == [ours[0]["id"]] and "| Remove |" in ours_now[0]["body"]
        assert gh.writes()[1] == ("PATCH", f"/repos/o/r/issues/comments/{ours[0]['id']}")
        assert "| Remove |" in (tmp_path / "summary.md").read_text()


def test_the_comment_script_names_what_is_missing(tmp_path, monkeypatch):
    pc = comment_module()
    report = tmp_path / "report.json"
    report.write_text("{}")
    monkeypatch.delenv("PR_NUMBER", raising=False)
    with pytest.raises(SystemExit, match="PR_NUMBER is not set"):
        pc.main(["x", str(report)])
    with pytest.raises(SystemExit, match="cannot read the deployer report"):
        pc.main(["x", str(tmp_path / "missing.json")])
