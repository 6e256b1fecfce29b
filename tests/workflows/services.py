"""The local AWS (moto) and OCI registry (Debian's docker-registry) for the act scenarios,
each on a free loopback port, stopped on exit. The same start-up as scripts/local.sh,
in Python for pytest fixtures (to be folded into scripts/lib.sh's helpers later).
"""

from __future__ import annotations

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
