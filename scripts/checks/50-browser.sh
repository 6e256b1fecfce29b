#!/usr/bin/env bash
# Browser tests (node:test + playwright-core driving headless Chromium) for
# every tests/browser/*.test.mjs. Builds the binaries they start and passes their paths.
set -euo pipefail
# Debian's chromium here, Google Chrome on GitHub runners (scripts/browser-path says which).
CHROMIUM_PATH=$(./scripts/browser-path)
export CHROMIUM_PATH
[ -d node_modules/playwright-core ] || { echo "error: playwright-core missing: run scripts/deps.sh" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
lib_build_bins
SERVICE_BIN="$(pwd)/target/debug/service"
DEPLOYER_BIN="$(pwd)/target/debug/deployer"
export SERVICE_BIN DEPLOYER_BIN
shopt -s nullglob
tests=(tests/browser/*.test.mjs)
[ ${#tests[@]} -gt 0 ] || { echo "error: no tests/browser/*.test.mjs" >&2; exit 1; }
node --test "${tests[@]}"
