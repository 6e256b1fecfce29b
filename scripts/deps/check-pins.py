#!/usr/bin/env python3
"""Refuses a dependency file that would let an install pick something unreviewed.

    scripts/deps/check-pins.py FILE...

- a pip requirements file (*.txt): every requirement is `name==version` with at least one
  `--hash=sha256:...`, and nothing else (no URLs, no `-e`, no index or `-r` options): what
  `pip install --require-hashes` needs, checked before pip runs so the error names the line;
- package-lock.json: every package has a sha512 `integrity` hash and comes from the npm
  registry (a `resolved` URL elsewhere, or a link, is refused), so `npm ci` checks each
  tarball.

scripts/deps.sh runs it on every lock before installing; scripts/checks/25-service-dockerfile.sh
runs its tests (scripts/deps/test-check-pins.sh). Exit 1 with one line per problem.
"""

import json
import re
import sys

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?==[A-Za-z0-9.!+_-]+(\s*;.*)?$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
REGISTRY = "https://registry.npmjs.org/"


def requirements(path: str) -> list[str]:
    problems = []
    logical, start = "", 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    entries = []
    for number, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not logical:
            start = number
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        if logical.strip():
            entries.append((start, logical.strip()))
        logical = ""
    if logical.strip():
        entries.append((start, logical.strip()))
    if not entries:
        problems.append(f"{path}: no requirements at all")
    for number, entry in entries:
        words = entry.split()
        # The requirement is everything before the first option (markers hold spaces).
        first_option = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
        requirement = " ".join(words[:first_option])
        options = words[first_option:]
        if not requirement:
            problems.append(f"{path}:{number}: `{entry[:60]}` is an option, not a pinned requirement")
            continue
        if not PIN.match(requirement):
            problems.append(f"{path}:{number}: `{requirement}` is not pinned as NAME==VERSION")
        hashes = [o for o in options if HASH.match(o)]
        others = [o for o in options if not HASH.match(o)]
        if not hashes:
            problems.append(
                f"{path}:{number}: `{requirement}` has no --hash=sha256:...; "
                "regenerate the lock with scripts/deps/lock.sh"
            )
        if others:
            problems.append(f"{path}:{number}: `{requirement}` has options other than --hash: {' '.join(others)}")
    return problems


def npm_lock(path: str) -> list[str]:
    problems = []
    with open(path, encoding="utf-8") as f:
        lock = json.load(f)
    version = lock.get("lockfileVersion", 0)
    if version < 2:
        return [f"{path}: lockfileVersion {version} has no `packages` map; regenerate it with npm 7 or later"]
    packages = {k: v for k, v in lock.get("packages", {}).items() if k}
    if not packages:
        problems.append(f"{path}: lists no packages")
    for name, entry in sorted(packages.items()):
        if entry.get("link"):
            problems.append(f"{path}: {name} is a link to {entry.get('resolved')}, not a registry package")
            continue
        if not str(entry.get("integrity", "")).startswith("sha512-"):
            problems.append(f"{path}: {name} has no sha512 integrity hash")
        # npm may leave `resolved` out (it then fetches NAME@VERSION from the registry);
        # when present it must be the registry, not a git URL or a tarball elsewhere.
        resolved = entry.get("resolved")
        if resolved is not None and not str(resolved).startswith(REGISTRY):
            problems.append(f"{path}: {name} is resolved from {resolved!r}, not {REGISTRY}")
    return problems


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    problems = []
    for path in paths:
        problems += npm_lock(path) if path.endswith(".json") else requirements(path)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
