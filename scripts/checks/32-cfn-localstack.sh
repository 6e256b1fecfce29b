#!/usr/bin/env bash
# The deployer end to end on a second, asynchronous CloudFormation engine: builds the
# real binary, starts one LocalStack (scripts/lib.sh: no Docker, offline, state under
# .local/localstack/), runs tests/localstack/ against it with boto3 from .venv, and
# stops LocalStack again, also when the suite fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
if ! .venv/bin/python -c 'import boto3, pytest' 2>/dev/null; then
  echo "error: boto3 or pytest is missing from .venv; run scripts/deps.sh" >&2
  exit 1
fi

lib_build_bins
export DEPLOYER_BIN="$root/target/debug/deployer"

state="$root/.local/localstack"
rm -rf "$state"
trap 'lib_stop_started' EXIT
trap 'exit 130' INT TERM
start=$SECONDS
lib_start_localstack "$state"
# A real OCI registry for the images a release applies: LocalStack's community edition
# has no ECR, so the tests put images here and pass --registry (tests/localstack/test_release.py).
lib_start_registry "$state"
export REGISTRY_URL
echo "LocalStack $LIB_LOCALSTACK_VERSION ready at $LOCALSTACK_URL in $((SECONDS - start)) s (log: $state/localstack.log)"
export LOCALSTACK_URL

# No __pycache__ or .pytest_cache in the checkout.
export PYTHONDONTWRITEBYTECODE=1
if ! .venv/bin/python -m pytest tests/localstack -q -p no:cacheprovider; then
  echo "LocalStack's log: $state/localstack.log" >&2
  exit 1
fi
