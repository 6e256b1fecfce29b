#!/usr/bin/env bash
# The one command that runs every test and linter of the project (README: `make test`).
#
# 1. installs what the tests need (scripts/deps.sh, idempotent);
# 2. runs every scripts/checks/NN-name.sh in order. Each check is a small script with
#    one job (rustfmt+clippy, cargo tests, template lint, ...) so adding a check is
#    adding a file. All checks run even when one fails, so one run shows every problem;
#    the exit status is non-zero when any failed.
#
# `scripts/test.sh rust cfn` runs only the checks whose names contain those words.
#
# Deliberately `set -uo pipefail` without -e: a failing check must not end this script,
# the loop below records it and goes on to the next one. Every command whose failure
# should stop the run says so itself (`|| exit 1`).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)

./scripts/deps.sh || { echo "error: installing test dependencies failed (see above)" >&2; exit 1; }
export PATH="$root/.venv/bin:$root/node_modules/.bin:$PATH"
# Browser tests read CHROMIUM_PATH (Debian's chromium here, Google Chrome on GitHub runners).
CHROMIUM_PATH=$(./scripts/browser-path) || exit 1
export CHROMIUM_PATH

failed=()
ran=0
for check in scripts/checks/*.sh; do
  name=$(basename "$check" .sh)
  if [ $# -gt 0 ]; then
    want=0; for w in "$@"; do [[ $name == *"$w"* ]] && want=1; done
    [ $want -eq 1 ] || continue
  fi
  printf '\n======== %s ========\n' "$name"
  start=$(date +%s)
  if bash "$check"; then
    printf -- '-------- %s: ok (%ss)\n' "$name" $(( $(date +%s) - start ))
  else
    printf -- '-------- %s: FAILED (%ss)\n' "$name" $(( $(date +%s) - start ))
    failed+=("$name")
  fi
  ran=$((ran + 1))
done

echo
if [ $ran -eq 0 ]; then echo "error: no check matched: $*" >&2; exit 2; fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: ${#failed[@]} of $ran check groups failed: ${failed[*]}"
  exit 1
fi
echo "test.sh: all $ran check groups succeeded"
