#!/usr/bin/env bash
# Preview benchmark: how long `deployer preview up` takes until a pull request's preview
# is ready, created (express mode) and updated (standard mode), and how long `preview
# down` takes, on one local moto (tools/moto/launcher.py) with a local registry.
#
#   scripts/bench/preview.sh [RUNS] [ROLLOUT_SECONDS]   # default 5 runs, 2 s rollouts
#
# ROLLOUT_SECONDS is how long the local AWS keeps a new ECS deployment IN_PROGRESS after
# express mode reported the stack complete (MOTO_ECS_ROLLOUT_SECONDS): the stand-in for
# Fargate starting a task and the target passing its health checks. So "ready after" on
# the local AWS is CloudFormation's (instant) work, the rollout stand-in, and the
# deployer's own poll latency on top of it; a standard-mode operation finishes the
# rollout inside the stack operation here, as real CloudFormation waits for it.
# The application has two services (one login, one public), as the repository's.
# Prints one Markdown table (mean / min / max wall seconds) for BENCHMARKS.md.
set -euo pipefail

RUNS="${1:-5}"
ROLLOUT="${2:-2}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
[ -x .venv/bin/python ] || { echo "error: .venv missing: run scripts/deps.sh" >&2; exit 1; }

# The debug build: what is measured is waiting (CloudFormation, the rollout, the poll
# schedule), not the deployer's CPU time.
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
lib_build_bins
DEPLOYER="$ROOT/target/debug/deployer"
WORK="$(mktemp -d)"
trap 'lib_stop_started; rm -rf "$WORK"' EXIT
MOTO_ECS_ROLLOUT_SECONDS="$ROLLOUT" lib_start_moto "$WORK/moto.log"
lib_start_registry "$WORK" > /dev/null
export AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
export DEPLOYER_REGISTRY="$REGISTRY_URL"
unset AWS_PROFILE AWS_SESSION_TOKEN GITHUB_ACTIONS

# Two different images (any static file will do: moto runs no container).
cargo run --locked --quiet -p xtask -- image --binary "$DEPLOYER" --out "$WORK/image" --tag one > /dev/null
cargo run --locked --quiet -p xtask -- image --binary "$ROOT/target/debug/xtask" --out "$WORK/image2" --tag two > /dev/null

read -r ZONE BOUNDARY < <(.venv/bin/python - <<'PY'
import json, boto3
zone = boto3.client("route53").create_hosted_zone(Name="bench.example.com", CallerReference="bench")
doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}
policy = boto3.client("iam").create_policy(PolicyName="bench-boundary", PolicyDocument=json.dumps(doc))
print(zone["HostedZone"]["Id"].split("/")[-1], policy["Policy"]["Arn"])
PY
)

CONFIG="$WORK/deploy.yaml"
service() { # NAME HOST LOGIN
  printf '  %s:\n    image: { context: %s }\n    port: 8080\n    health_path: /healthz\n    host: %s\n    login: %s\n    cpu: 256\n    memory: 512\n    scaling: { min: 1, max: 1 }\n' \
    "$1" "$ROOT" "$2" "$3"
}
{
  printf 'version: 2\napplication: hello\n'
  printf 'templates: { environment: %s/cfn/environment.yaml, service: %s/cfn/service.yaml }\n' "$ROOT" "$ROOT"
  printf 'environments:\n  preview:\n    region: us-east-1\n    domain: preview.bench.example.com\n'
  printf '    hosted_zone_id: %s\n    cognito_domain_prefix: hello-bench-preview\n' "$ZONE"
  printf '    permissions_boundary_arn: %s\n    nat_gateways: 1\n    approval: false\n' "$BOUNDARY"
  printf '    previews: { max: 100 }\nservices:\n'
  service web app cognito
  service public www none
} > "$CONFIG"
"$DEPLOYER" -q deploy --config "$CONFIG" --environment preview --yes > /dev/null

now() { date +%s.%N; }
declare -A TIMES
time_case() { # NAME COMMAND...
  local name="$1" start end; shift
  start="$(now)"
  "$@" > "$WORK/out.json" 2> "$WORK/err.log" || { echo "error: $name failed: $*" >&2; cat "$WORK/err.log" "$WORK/out.json" >&2; exit 1; }
  end="$(now)"
  TIMES[$name]+="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') "
}
up() { # PR IMAGE
  "$DEPLOYER" preview up --config "$CONFIG" --pr "$1" --output json \
    --image "web=oci:$2" --image "public=oci:$2"
}

# Warm-up (not timed): moto imports each service's backend on first use.
up 999 "$WORK/image:one" > /dev/null 2>&1
"$DEPLOYER" -q preview down --config "$CONFIG" --pr 999 > /dev/null

for run in $(seq 1 "$RUNS"); do
  time_case "up: create (express) until ready" up "$run" "$WORK/image:one"
  jq -e '.state == "ready" and ([.services[].mode] | unique) == ["express"]' "$WORK/out.json" > /dev/null \
    || { echo "error: run $run was not created ready in express mode: $(cat "$WORK/out.json")" >&2; exit 1; }
  time_case "up: update (standard), new image, until ready" up "$run" "$WORK/image2:two"
  jq -e '.state == "ready" and ([.services[].mode] | unique) == ["standard"]' "$WORK/out.json" > /dev/null \
    || { echo "error: run $run was not updated ready in standard mode: $(cat "$WORK/out.json")" >&2; exit 1; }
  time_case "down (express)" "$DEPLOYER" preview down --config "$CONFIG" --pr "$run" --output json
done

echo
echo "Two services, $RUNS runs, rollout stand-in ${ROLLOUT} s (MOTO_ECS_ROLLOUT_SECONDS):"
echo
echo "| case | mean (min-max) s |"
echo "|---|---|"
for name in "up: create (express) until ready" "up: update (standard), new image, until ready" "down (express)"; do
  # shellcheck disable=SC2086
  awk -v name="$name" 'BEGIN { n = split(ARGV[1], t, " "); min = t[1]; max = t[1]; sum = 0
    for (i = 1; i <= n; i++) { sum += t[i]; if (t[i] < min) min = t[i]; if (t[i] > max) max = t[i] }
    printf "| %s | %.2f (%.2f-%.2f) |\n", name, sum / n, min, max; ARGV[1] = "" }' "${TIMES[$name]}"
done
