#!/usr/bin/env bash
# Push benchmark: `deployer push` (release build) versus `skopeo copy`, each pushing
# the same ~50 MB image (random, incompressible data in 3 layers, as an OCI layout) into
# a fresh Debian docker-registry on loopback; plus an unchanged re-push.
#
#   scripts/bench/push.sh [RUNS]      # default 5 runs per case
#
# deployer makes its ECR calls (repository check, login) to a local moto
# (tools/moto/launcher.py) and its blob and manifest calls to the registry given with
# --registry; skopeo only talks to the registry. Prints one Markdown table
# (mean / min / max wall seconds) for BENCHMARKS.md.
# skopeo is a benchmark-only dependency (scripts/deps/apt-bench.txt), installed when missing.
set -euo pipefail

RUNS="${1:-5}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

[ -x /usr/bin/docker-registry ] || { echo "error: docker-registry missing: run scripts/deps.sh" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "error: .venv missing: run scripts/deps.sh" >&2; exit 1; }
command -v skopeo >/dev/null || ./scripts/deps.sh --bench # scripts/deps/apt-bench.txt

cargo build --release --locked --quiet -p deployer
cargo build --release --locked --quiet -p oci-push --example random_image
DEPLOYER="$ROOT/target/release/deployer"

# shellcheck source=scripts/lib.sh
source scripts/lib.sh
WORK="$(mktemp -d)"
trap 'lib_stop_started; rm -rf "$WORK"' EXIT

target/release/examples/random_image "$WORK/image" 50 3 >/dev/null
IMAGE_MB="$(du -sm "$WORK/image" | cut -f1)"

lib_start_moto "$WORK/moto.log"
ENDPOINT="$MOTO_URL"
export AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true CI=true
unset AWS_PROFILE GITHUB_SHA

# start_registry: a fresh registry (new storage, new port) in REG_URL; stops the old one.
REG_N=0
REG_PID=""
start_registry() {
  stop_registry
  REG_N=$((REG_N + 1))
  lib_start_registry "$WORK/registry-$REG_N"
  REG_PID="$REGISTRY_PID"
  REG_URL="$REGISTRY_URL"
}
stop_registry() {
  if [ -n "$REG_PID" ]; then lib_stop "$REG_PID"; REG_PID=""; fi
  [ "$REG_N" -gt 0 ] && rm -rf "$WORK/registry-$REG_N"
  return 0
}

now() { date +%s.%N; }
declare -A TIMES
time_case() { # NAME COMMAND... : runs it once, appends its wall time to TIMES[NAME]
  local name="$1"; shift
  local start end
  start="$(now)"
  "$@" >"$WORK/last.log" 2>&1 || { echo "error: $name failed:" >&2; cat "$WORK/last.log" >&2; exit 1; }
  end="$(now)"
  TIMES[$name]+="$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }') "
}

deployer_push() { # TAG
  "$DEPLOYER" push --image "oci:$WORK/image:latest" --repository bench/app --tag "$1" --registry "$REG_URL"
}
skopeo_push() { # TAG
  skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$WORK/image:latest" "docker://${REG_URL#http://}/bench/app:$1"
}

# Warm-up (not timed): the page cache, moto's ECR backend, the repository in moto.
start_registry
time_case warmup deployer_push warm
time_case warmup skopeo_push warm

for i in $(seq "$RUNS"); do
  for tool in deployer skopeo; do
    start_registry
    time_case "push-$tool" "${tool}_push" "run$i"
    time_case "repush-$tool" "${tool}_push" "run$i"
  done
done
stop_registry

stats() { # prints "mean min max" of the numbers given
  printf '%s\n' "$@" | awk '{s+=$1; if(min==""||$1<min)min=$1; if($1>max)max=$1} END {printf "%.3f %.3f %.3f", s/NR, min, max}'
}

echo "| case | deployer push mean (min-max) s | skopeo copy mean (min-max) s | ratio |"
echo "|---|---|---|---|"
for case in push repush; do
  read -ra deployer_times <<<"${TIMES[$case-deployer]}"
  read -ra skopeo_times <<<"${TIMES[$case-skopeo]}"
  read -r dm dmin dmax <<<"$(stats "${deployer_times[@]}")"
  read -r sm smin smax <<<"$(stats "${skopeo_times[@]}")"
  ratio="$(awk -v d="$dm" -v s="$sm" 'BEGIN { printf "%.2f", d / s }')"
  echo "| $case (${IMAGE_MB} MB, 3 layers) | $dm ($dmin-$dmax) | $sm ($smin-$smax) | ${ratio}x |"
done
echo
echo "$RUNS runs per case; $(nproc) cores; deployer $("$DEPLOYER" --version | cut -d' ' -f2); $(skopeo --version)"
