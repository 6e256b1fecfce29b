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
# skopeo is a benchmark-only dependency: installed here with apt when missing.
set -euo pipefail

RUNS="${1:-5}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

[ -x /usr/bin/docker-registry ] || { echo "error: docker-registry missing: run scripts/deps.sh" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "error: .venv missing: run scripts/deps.sh" >&2; exit 1; }
if ! command -v skopeo >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends skopeo >/dev/null
fi

cargo build --release --locked --quiet -p deployer
cargo build --release --locked --quiet -p oci-push --example random_image
DEPLOYER="$ROOT/target/release/deployer"

WORK="$(mktemp -d)"
REG_PID=""
MOTO_PID=""
cleanup() {
  [ -n "$REG_PID" ] && { kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; }
  [ -n "$MOTO_PID" ] && { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

target/release/examples/random_image "$WORK/image" 50 3 >/dev/null
IMAGE_MB="$(du -sm "$WORK/image" | cut -f1)"

: >"$WORK/moto.out"
.venv/bin/python tools/moto/launcher.py --port 0 >"$WORK/moto.out" 2>/dev/null &
MOTO_PID=$!
for _ in $(seq 100); do grep -q '^READY ' "$WORK/moto.out" && break; sleep 0.1; done
ENDPOINT="$(sed -n 's/^READY //p' "$WORK/moto.out")"
[ -n "$ENDPOINT" ] || { echo "error: moto launcher did not start" >&2; exit 1; }
export AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true CI=true
unset AWS_PROFILE GITHUB_SHA

# start_registry: a fresh registry (new storage, new port) in REG_URL; stops the old one.
REG_N=0
start_registry() {
  stop_registry
  REG_N=$((REG_N + 1))
  local port dir="$WORK/registry-$REG_N"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  mkdir -p "$dir"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s/data\nhttp:\n  addr: 127.0.0.1:%s\n' "$dir" "$port" >"$dir/config.yml"
  /usr/bin/docker-registry serve "$dir/config.yml" >/dev/null 2>&1 &
  REG_PID=$!
  REG_URL="http://127.0.0.1:$port"
  for _ in $(seq 200); do curl -fsS -o /dev/null "$REG_URL/v2/" 2>/dev/null && return; sleep 0.05; done
  echo "error: docker-registry did not start" >&2; exit 1
}
stop_registry() {
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; REG_PID=""; fi
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
  read -r dm dmin dmax <<<"$(stats ${TIMES[$case-deployer]})"
  read -r sm smin smax <<<"$(stats ${TIMES[$case-skopeo]})"
  ratio="$(awk -v d="$dm" -v s="$sm" 'BEGIN { printf "%.2f", d / s }')"
  echo "| $case (${IMAGE_MB} MB, 3 layers) | $dm ($dmin-$dmax) | $sm ($smin-$smax) | ${ratio}x |"
done
echo
echo "$RUNS runs per case; $(nproc) cores; deployer $("$DEPLOYER" --version | cut -d' ' -f2); $(skopeo --version)"
