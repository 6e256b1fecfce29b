#!/usr/bin/env python3
"""Prints how old a pull-request preview may get: `previews.max_age` of the one environment
in deploy.yaml that has `previews:` (default 7d, as the deployer's). preview-prune.yml
passes it as `deployer preview prune --older-than`, so deploy.yaml stays the one place
that says it.

    preview_max_age.py DEPLOY_YAML

Only that key is read; the deployer validates the rest (and this value again). No
environment with `previews:`, or a value that is not a plain duration (`7d`, `36h`,
`90m`), is an error naming the key.
"""

from __future__ import annotations

import re
import sys

try:
    import yaml
except ImportError:  # GitHub's ubuntu-24.04 image has python3-yaml
    sys.exit("error: python3 cannot import yaml; install python3-yaml (apt) or PyYAML")

DEFAULT = "7d"


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    environments = doc.get("environments") or {}
    hosts = [name for name, env in environments.items() if isinstance(env, dict) and "previews" in env]
    if len(hosts) != 1:
        sys.exit(f"error: {path}: {len(hosts)} environments have `previews:`; prune needs exactly one")
    previews = environments[hosts[0]]["previews"] or {}
    value = str(previews.get("max_age", DEFAULT))
    if not re.fullmatch(r"(?:[0-9]{1,6}[smhd])+", value):
        sys.exit(f"error: {path}: environments.{hosts[0]}.previews.max_age {value!r} is not a duration like 7d or 36h")
    print(value)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: preview_max_age.py DEPLOY_YAML")
    sys.exit(main(sys.argv[1]))
