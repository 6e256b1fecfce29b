#!/usr/bin/env bash
# Service benchmark (issue 2): prints the numbers BENCHMARKS.md records.
#   scripts/bench/service.sh            # or: make bench
# Measures, in one run on this machine:
#   - the ceiling: `openssl speed -elapsed -seconds 5 -multi $(nproc) ecdsap256` verify/s;
#   - /api/me with distinct valid tokens (wrk, 64 connections): req/s, p99;
#   - /healthz at the same load, for reference;
#   - RSS high-water mark under load (VmHWM), start-to-first-/healthz, static binary size.
# Installs wrk (scripts/deps.sh --bench) if missing. Load generator and service share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TOKENS=${TOKENS:-20000}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
work=$(mktemp -d)
trap 'lib_stop_started; rm -rf "$work"' EXIT

# wrk and openssl are benchmark-only dependencies (scripts/deps/apt-bench.txt).
if ! command -v wrk >/dev/null || ! command -v openssl >/dev/null; then ./scripts/deps.sh --bench; fi

echo "==> building the static release binary and the fixture" >&2
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -q \
  --target x86_64-unknown-linux-gnu -p service
cargo build --release --locked -q -p service --example bench_fixture
bin=target/x86_64-unknown-linux-gnu/release/service
fixture=target/release/examples/bench_fixture

echo "==> fixture: $TOKENS distinct tokens and a key endpoint on loopback" >&2
"$fixture" "$work/tokens" "$TOKENS" > "$work/env" &
LIB_PIDS+=($!)
for _ in $(seq 200); do [ "$(wc -l < "$work/env")" -ge 3 ] && break; sleep 0.05; done
# The fixture wrote these settings just above.
set -a
# shellcheck disable=SC1091
. "$work/env"
set +a
port=$(lib_free_port)
export PORT=$port

echo "==> start to first /healthz 200 (median and max of 20 starts)" >&2
read -r startup_median startup_max < <(python3 scripts/bench/startup.py "$bin" "$port" 20)

"$bin" > /dev/null &
svc=$!
LIB_PIDS+=("$svc")
until "$bin" --healthcheck 2>/dev/null; do sleep 0.01; done
# Warm the key cache so the run measures verification, not the first fetch.
head -1 "$work/tokens" | xargs -I{} curl -sf -o /dev/null -H "x-amzn-oidc-data: {}" "http://127.0.0.1:$port/api/me"

echo "==> ceiling: openssl speed ecdsap256, $(nproc) processes" >&2
ceiling=$(openssl speed -elapsed -seconds 5 -multi "$(nproc)" ecdsap256 2>/dev/null \
  | awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' | tail -1)

echo "==> /api/me, distinct tokens, $CONNECTIONS connections, ${DURATION}s" >&2
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s scripts/bench/service.lua \
  "http://127.0.0.1:$port" -- "$work/tokens" > "$work/me.txt"
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$svc/status")
echo "==> /healthz, $CONNECTIONS connections, ${DURATION}s" >&2
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$port/healthz" > "$work/health.txt"

non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/me.txt"); non2xx=${non2xx:-0}
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' "$1"; }
p99() { awk '$1=="99%" {print $2}' "$1"; }
me_rps=$(rps "$work/me.txt")
size=$(stat -c %s "$bin")

cat <<REPORT
machine:             $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
verify ceiling:      ${ceiling} verify/s (openssl speed ecdsap256, $(nproc) processes)
/api/me:             ${me_rps} req/s, p99 $(p99 "$work/me.txt") ($(awk -v a="$me_rps" -v b="$ceiling" 'BEGIN {printf "%.0f", 100*a/b}')% of ceiling; non-2xx: ${non2xx})
/healthz:            $(rps "$work/health.txt") req/s, p99 $(p99 "$work/health.txt")
RSS high-water mark: $((rss_kb / 1024)) MiB (${rss_kb} kB VmHWM)
start to /healthz:   ${startup_median} ms median, ${startup_max} ms max (20 starts)
static binary:       $((size / 1024)) KiB
load:                wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $TOKENS distinct tokens rotating
REPORT
