#!/usr/bin/env bash
# Prints the commit time (Unix seconds) of the last commit that changed the image's own
# inputs, for SOURCE_DATE_EPOCH:
#   .github/scripts/image-epoch.sh CONTEXT DOCKERFILE
# (both relative to the repository's work tree, as docker/build-push-action takes them).
#
# The inputs are the Dockerfile, its ignore file and every tracked file of CONTEXT that
# the ignore file admits: `DOCKERFILE.dockerignore` when it exists (BuildKit prefers it),
# else `CONTEXT/.dockerignore`, else none (the whole context). The image's timestamps are
# this time, so the same inputs give the same image digest: a commit to README, cfn/ or
# deployer/ moves nothing, and ECS does not roll an unchanged app.
# Needs the whole history (actions/checkout with fetch-depth: 0): in a shallow clone the
# oldest commit seems to add every file, which would make the time move with each push.
set -euo pipefail

usage() { echo "usage: $0 CONTEXT DOCKERFILE" >&2; exit 2; }
[ $# -eq 2 ] || usage
context=$1 dockerfile=$2
here=$(cd "$(dirname "$0")" && pwd)

[ -d "$context" ] || { echo "error: build context '$context' is not a directory" >&2; exit 2; }
[ -f "$dockerfile" ] || { echo "error: Dockerfile '$dockerfile' does not exist" >&2; exit 2; }
git rev-parse --is-inside-work-tree >/dev/null 2>&1 \
  || { echo "error: $(pwd) is not inside a git work tree" >&2; exit 2; }
if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
  echo "error: this clone is shallow; the image epoch needs the whole history (actions/checkout: fetch-depth: 0)" >&2
  exit 2
fi

ignore=""
if [ -f "$dockerfile.dockerignore" ]; then
  ignore=$dockerfile.dockerignore
elif [ -f "$context/.dockerignore" ]; then
  ignore=$context/.dockerignore
fi

inputs=("$dockerfile")
[ -z "$ignore" ] || inputs+=("$ignore")
while IFS= read -r -d '' file; do
  inputs+=("$file")
done < <(git ls-files -z -- "$context" | python3 "$here/dockerignore.py" "$context" "$ignore")

# --literal-pathspecs: a file name with `*` or `:(` is a name, not a pattern.
epoch=$(git --literal-pathspecs log -1 --format=%ct -- "${inputs[@]}")
if [ -z "$epoch" ]; then
  echo "error: no commit changed $dockerfile or the files of '$context' it builds from (are they committed?)" >&2
  exit 1
fi
echo "$epoch"
