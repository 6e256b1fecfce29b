"""The local AWS (moto) and OCI registry (Debian's docker-registry) for the act scenarios,
each on a free loopback port, stopped on exit. The same start-up as scripts/local.sh,
in Python for pytest fixtures (to be folded into scripts/lib.sh's helpers later).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def moto(log: Path, record: bool = False):
    """Yields moto's URL (tools/moto/launcher.py prints `READY URL` when it listens).

    record: enable moto's request recorder (/moto-api/recorder/*), which keeps every
    request's parameters, including those moto stores but never returns (RoleARN)."""
    env = None
    if record:  # the recording file goes beside the log, not into the working directory
        env = dict(os.environ, MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=str(log.parent / "moto_recording"))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tools/moto/launcher.py"), "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for line in log.read_text().splitlines():
                if line.startswith("READY "):
                    yield line.split()[1]
                    return
            if proc.poll() is not None:
                raise RuntimeError(f"moto exited with {proc.returncode}: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"moto did not print READY within 60 s (see {log})")
    finally:
        _stop(proc)


@contextmanager
def registry(workdir: Path):
    """Yields the base URL of a docker-registry storing into workdir."""
    port = free_port()
    config = workdir / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: { level: warn }\n"
        f"storage:\n  filesystem: {{ rootdirectory: {workdir / 'registry-data'} }}\n  delete: {{ enabled: true }}\n"
        f"http: {{ addr: 127.0.0.1:{port} }}\n"
    )
    with open(workdir / "registry.log", "w") as out:
        proc = subprocess.Popen(
            ["/usr/bin/docker-registry", "serve", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/v2/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"docker-registry did not start (see {workdir / 'registry.log'})") from None
                time.sleep(0.1)
        yield url
    finally:
        _stop(proc)


def _wait_for_first_line(path: Path, proc: subprocess.Popen, what: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if "\n" in text:
            return text.split("\n", 1)[0]
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} (see {path.parent})")
        time.sleep(0.1)
    raise RuntimeError(f"{what} printed nothing within {seconds} s (see {path.parent})")


@contextmanager
def behind_login(deployer: Path, service_bin: Path, workdir: Path, host: str, client_id: str):
    """The service binary behind the login emulator for one host with login, as
    scripts/local.sh runs it: `deployer local-auth --route HOST=URL,login=cognito,client-id=ID`
    in front, the service started with the environment the emulator printed for that
    route. Yields the emulator's port."""
    workdir.mkdir(parents=True, exist_ok=True)
    auth_port, app_port = free_port(), free_port()
    route = f"{host}=http://127.0.0.1:{app_port},login=cognito,client-id={client_id}"
    started: list[subprocess.Popen] = []
    try:
        with open(workdir / "local-auth.json", "w") as out, open(workdir / "local-auth.log", "w") as err:
            listen = f"127.0.0.1:{auth_port}"
            auth = subprocess.Popen(
                [str(deployer), "local-auth", "--listen", listen, "--output", "json", "--route", route],
                stdout=out,
                stderr=err,
            )
        started.append(auth)
        info = json.loads(_wait_for_first_line(workdir / "local-auth.json", auth, "deployer local-auth"))
        env = next(r["env"] for r in info["routes"] if r["host"] == host)
        with open(workdir / "service.log", "w") as out:
            started.append(
                subprocess.Popen(
                    [str(service_bin)],
                    env={"PATH": os.environ["PATH"], **env, "PORT": str(app_port)},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{app_port}/healthz", timeout=2).close()
                break
            except OSError:
                if started[-1].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the service did not start (see {workdir / 'service.log'})") from None
                time.sleep(0.1)
        yield auth_port
    finally:
        for proc in reversed(started):
            _stop(proc)
