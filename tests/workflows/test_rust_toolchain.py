"""scripts/deps/rust-toolchain.sh: on a machine whose rustup has only `stable`, and stable
is the version rust-toolchain.toml pins, cargo in the repository must work offline after
scripts/deps.sh (rustup would otherwise try to download the pinned version and fail).

Each test uses its own RUSTUP_HOME holding only a `stable` toolchain (a link to this
machine's), so the machine's rustup setup is never touched.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts/deps/rust-toolchain.sh"
PINNED = re.search(r'^channel\s*=\s*"([^"]+)"', (ROOT / "rust-toolchain.toml").read_text(), re.M).group(1)


def run(cmd, env, cwd=ROOT):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def only_stable(tmp_path: Path) -> tuple[dict, Path, str]:
    real = dict(os.environ, RUSTUP_TOOLCHAIN="stable")
    sysroot = run(["rustc", "--print", "sysroot"], real, cwd="/").stdout.strip()
    host = re.search(r"^host: (\S+)", run(["rustc", "-vV"], real, cwd="/").stdout, re.M).group(1)
    home = tmp_path / "rustup"
    (home / "toolchains").mkdir(parents=True)
    (home / "toolchains" / f"stable-{host}").symlink_to(sysroot)
    (home / "settings.toml").write_text(f'version = "12"\ndefault_toolchain = "stable-{host}"\nprofile = "minimal"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("RUSTUP_TOOLCHAIN", "RUSTC", "CARGO")}
    env.update(RUSTUP_HOME=str(home), RUSTUP_AUTO_INSTALL="0")
    return env, home, host


def test_links_the_pinned_version_to_stable_once(tmp_path):
    env, home, host = only_stable(tmp_path)
    stable = run(["rustc", "--version"], dict(env, RUSTUP_TOOLCHAIN="stable"), cwd="/").stdout
    assert stable.startswith(f"rustc {PINNED} "), f"this machine's stable is not the pinned {PINNED}: {stable}"
    # The defect: inside the repository rustup wants the pinned toolchain, which it lacks.
    before = run(["rustc", "--version"], env)
    assert before.returncode != 0 and "not installed" in before.stderr, before

    first = run([str(SCRIPT)], env)
    assert first.returncode == 0, first.stderr
    link = home / "toolchains" / f"{PINNED}-{host}"
    assert link.is_symlink() and link.resolve() == (home / "toolchains" / f"stable-{host}").resolve()
    after = run(["rustc", "--version"], env)
    assert after.returncode == 0 and after.stdout.startswith(f"rustc {PINNED} "), after

    # Idempotent: a second run changes nothing and says nothing.
    second = run([str(SCRIPT)], env)
    assert (second.returncode, second.stderr) == (0, "")
    assert sorted(p.name for p in (home / "toolchains").iterdir()) == sorted([f"stable-{host}", f"{PINNED}-{host}"])


def test_leaves_an_installed_pinned_toolchain_alone(tmp_path):
    env, home, host = only_stable(tmp_path)
    installed = home / "toolchains" / f"{PINNED}-{host}"
    installed.symlink_to((home / "toolchains" / f"stable-{host}").resolve())
    target_before = os.readlink(installed)
    result = run([str(SCRIPT)], env)
    assert (result.returncode, result.stderr) == (0, "")
    assert os.readlink(installed) == target_before
