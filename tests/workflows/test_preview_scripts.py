"""The preview workflows' scripts. pull_requests.py: pr.yml's preview job asks whether its
pull request is still open before `preview up`; preview-prune.yml lists the open ones for
`preview prune --keep` (against the fake GitHub API: every page is read, and an API error
stops with no list: a partial --keep would remove open pull requests' previews).
preview_max_age.py: deploy.yaml's previews.max_age for `prune --older-than`."""

from __future__ import annotations

import subprocess
import sys

from act_harness import ROOT
from fake_github import FakeGitHub

SCRIPT = ROOT / ".github/scripts/pull_requests.py"
MAX_AGE = ROOT / ".github/scripts/preview_max_age.py"


def run(gh: FakeGitHub, *args: str, token: str = "t0ken") -> subprocess.CompletedProcess:
    env = {"GITHUB_TOKEN": token, "GITHUB_API_URL": gh.url, "GITHUB_REPOSITORY": "o/r", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True)


def test_open_lists_every_open_pull_request_across_pages():
    with FakeGitHub("t0ken") as gh:
        gh.pulls = {n: ("closed" if n % 3 == 0 else "open") for n in range(1, 251)}
        done = run(gh, "open")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == ",".join(str(n) for n in range(1, 251) if n % 3)
        pages = [r["path"] for r in gh.requests]
        assert pages == ["/repos/o/r/pulls"] * 2, "250 open and closed, 167 open: two pages of 100"
        gh.pulls = {}
        assert run(gh, "open").stdout == "\n", "no open pull request: an empty list"


def test_state_answers_open_or_closed():
    with FakeGitHub("t0ken") as gh:
        gh.pulls = {7: "open", 8: "closed"}
        assert run(gh, "state", "7").stdout == "open\n"
        assert run(gh, "state", "8").stdout == "closed\n"
        missing = run(gh, "state", "9")
        assert missing.returncode != 0 and "answered 404" in missing.stderr
        bad = run(gh, "state", "7; id")
        assert bad.returncode != 0 and "must be a number" in bad.stderr


def test_an_api_error_stops_without_a_list():
    with FakeGitHub("t0ken") as gh:
        gh.pulls = {1: "open"}
        done = run(gh, "open", token="wrong")
        assert done.returncode != 0 and done.stdout == ""
        assert "answered 401" in done.stderr
    unreachable = run(gh, "open")
    assert unreachable.returncode != 0 and unreachable.stdout == "" and "cannot reach" in unreachable.stderr


def max_age(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    return subprocess.run([sys.executable, str(MAX_AGE), str(path)], capture_output=True, text=True)


def test_max_age_comes_from_the_environment_with_previews(tmp_path):
    project = subprocess.run([sys.executable, str(MAX_AGE), str(ROOT / "deploy.yaml")], capture_output=True, text=True)
    assert project.returncode == 0 and project.stdout == "7d\n", project.stderr
    envs = "environments:\n  staging: {region: r}\n  preview:\n    region: r\n"
    assert max_age(tmp_path, envs + "    previews: {max: 3, max_age: 36h}\n").stdout == "36h\n"
    assert max_age(tmp_path, envs + "    previews: {max: 3}\n").stdout == "7d\n", "the deployer's default"
    assert max_age(tmp_path, envs + "    previews: {}\n").stdout == "7d\n"
    for bad, says in (
        (envs, "0 environments have `previews:`"),
        (envs + "    previews: {max_age: '7d --keep 1'}\n", "environments.preview.previews.max_age"),
        (envs + "    previews: {max_age: ''}\n", "is not a duration"),
    ):
        done = max_age(tmp_path, bad)
        assert done.returncode != 0 and says in done.stderr and done.stdout == "", (bad, done.stderr)
