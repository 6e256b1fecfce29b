#!/usr/bin/env bash
# Runs every benchmark (README: `make bench`); each prints the table recorded in
# BENCHMARKS.md. `scripts/bench.sh push` runs only the benchmarks whose names contain "push".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --bench
for bench in scripts/bench/*.sh; do
  name=$(basename "$bench" .sh)
  if [ $# -gt 0 ]; then
    want=0; for w in "$@"; do [[ $name == *"$w"* ]] && want=1; done
    [ $want -eq 1 ] || continue
  fi
  printf '\n======== bench: %s ========\n' "$name"
  bash "$bench"
done
