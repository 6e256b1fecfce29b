"""Prints the image every service of a deploy.yaml (version 2) builds, one line each:
`SERVICE<TAB>DOCKERFILE<TAB>CONTEXT`, the paths relative to the current directory (the
file's own paths are relative to the file). build-images.sh beside this reads it.

Only `services.*.image` (`dockerfile`, `context`) is read; the deployer validates the
rest of the file. A service without a Dockerfile, or a path with a `${VAR}` in it, is an
error naming the key: the build runs before any variable is known.
"""

from __future__ import annotations

import os
import sys

try:
    import yaml
except ImportError:  # GitHub's ubuntu-24.04 image has python3-yaml
    sys.exit("error: python3 cannot import yaml; install python3-yaml (apt) or PyYAML")


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    if doc.get("version") != 2:
        sys.exit(f"error: {path}: version {doc.get('version')!r}; the workflow builds the services of version 2")
    services = doc.get("services") or {}
    if not isinstance(services, dict) or not services:
        sys.exit(f"error: {path}: no services to build (services:)")
    base = os.path.dirname(path)
    for name in sorted(services):
        image = (services[name] or {}).get("image")
        if not isinstance(image, dict) or not image.get("dockerfile"):
            sys.exit(f"error: {path}: services.{name}.image.dockerfile is not set")
        paths = []
        for key, default in (("dockerfile", None), ("context", ".")):
            value = str(image.get(key, default))
            if "${" in value or "\t" in value or "\n" in value:
                sys.exit(f"error: {path}: services.{name}.image.{key} {value!r}: no variables or tabs in build paths")
            paths.append(os.path.normpath(os.path.join(base, value)))
        print(f"{name}\t{paths[0]}\t{paths[1]}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: deploy_images.py DEPLOY_YAML")
    sys.exit(main(sys.argv[1]))
