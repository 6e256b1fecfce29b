#!/usr/bin/env bash
# The whole main job on one machine (README: `make local`), with no AWS account and no
# Docker engine:
#   1. starts a local AWS (moto, via tools/moto/launcher.py) and a local OCI registry
#      (Debian's docker-registry), and creates a Route 53 hosted zone in it;
#   2. builds the service as a static binary and packages it as an OCI image (cargo xtask image);
#   3. deployer deploy --dry-run (shows the change set), deployer deploy (pushes, creates the
#      stack, prints outputs), then a second deploy that must report no changes;
#   4. runs the service behind the local ALB login emulator (deployer local-auth) and
#      logs in through it once with curl;
#   5. on a terminal, keeps the app running for you to open until Ctrl-C; otherwise (or
#      with --no-serve) stops. Everything it started is stopped on exit.
#
# Every step checks its outcome and the script exits non-zero on the first surprise, so
# `make test` runs this same path as a test (scripts/checks/60-local-run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

serve=auto
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve=no ;;
    --serve) serve=yes ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$arg' (accepted: --no-serve, --serve)" >&2; exit 2 ;;
  esac
done
if [ "$serve" = auto ]; then if [ -t 0 ] && [ -t 1 ]; then serve=yes; else serve=no; fi; fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { echo "local run FAILED: $*" >&2; exit 1; }

run_dir="$root/.local/run"
rm -rf "$run_dir"
mkdir -p "$run_dir"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
cleanup() {
  local status=$?
  if [ ${#LIB_PIDS[@]} -gt 0 ]; then
    echo
    echo "==> stopping what this run started (moto, registry, service, login emulator)"
    lib_stop_started
  fi
  [ $status -eq 0 ] || echo "logs of the background processes are in $run_dir/*.log" >&2
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "1/5 install what the run needs (scripts/deps.sh: docker-registry, moto in .venv)"
./scripts/deps.sh

step "2/5 build the deployer, and the service as a static binary packaged as an OCI image"
cargo build --locked -p deployer -p xtask
target=$(rustc -vV | sed -n 's/^host: //p')
# Static (crt-static), like service/Dockerfile: the image has nothing but this file.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --locked --release -p service --target "$target"
deployer="$root/target/debug/deployer"
service_bin="$root/target/$target/release/service"
cargo xtask image --binary "$service_bin" --out "$run_dir/image" --tag local
echo "service binary: $(du -h "$service_bin" | cut -f1)"

step "3/5 start a local AWS (moto) and a local OCI registry (docker-registry)"
lib_start_moto "$run_dir/moto.log" || fail "moto did not start (see $run_dir/moto.log)"
moto_url=$MOTO_URL
lib_start_registry "$run_dir" || fail "docker-registry did not start (see $run_dir/registry.log)"
registry_url=$REGISTRY_URL
echo "local AWS:      $moto_url"
echo "local registry: $registry_url"

# The deployer talks to moto through the standard SDK settings; the push goes to the
# local registry instead of the one ECR would name.
export AWS_ENDPOINT_URL="$moto_url" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export DEPLOYER_REGISTRY="$registry_url"
unset AWS_PROFILE AWS_SESSION_TOKEN
zone_domain=local.example.com
hosted_zone_id=$(.venv/bin/python - "$moto_url" "$zone_domain" <<'PY'
import sys, boto3
r53 = boto3.client("route53", endpoint_url=sys.argv[1], region_name="us-east-1")
zone = r53.create_hosted_zone(Name=sys.argv[2], CallerReference="local-run")
print(zone["HostedZone"]["Id"].split("/")[-1])
PY
)
echo "hosted zone:    $zone_domain ($hosted_zone_id)"
# What cfn/github-oidc.yaml's PermissionsBoundary is on AWS: app.yaml's roles must carry
# one (moto enforces no IAM, so its content is only shown, not checked).
boundary_arn=$(.venv/bin/python - "$moto_url" <<'PY'
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1")
document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}
policy = iam.create_policy(PolicyName="alb-app-local-boundary", PolicyDocument=json.dumps(document))
print(policy["Policy"]["Arn"])
PY
)
echo "role boundary:  $boundary_arn"

stack=alb-app-local
deploy_args=(
  --stack-name "$stack" --template cfn/app.yaml
  --image "oci:$run_dir/image:local" --repository alb-app --image-tag local
  --parameter "HostedZoneId=$hosted_zone_id"
  --parameter "DomainName=app.$zone_domain"
  --parameter "CognitoDomainPrefix=alb-app-local"
  --parameter "PermissionsBoundaryArn=$boundary_arn"
  --tag app=alb-app-local
)

step "4/5 deploy: dry run, real deploy, unchanged re-deploy"
echo "--- deployer deploy --dry-run (shows the change set, then deletes it)"
"$deployer" deploy "${deploy_args[@]}" --dry-run
echo "--- deployer deploy --yes"
"$deployer" deploy "${deploy_args[@]}" --yes
"$deployer" status --stack-name "$stack" --output json > "$run_dir/status.json"
status=$(jq -r '.stack_status // .status' "$run_dir/status.json")
[ "$status" = CREATE_COMPLETE ] || fail "expected the stack to be CREATE_COMPLETE, it is $status"
echo "--- deployer deploy --yes (again, nothing changed: must be a no-op)"
"$deployer" deploy "${deploy_args[@]}" --yes --output json > "$run_dir/redeploy.json"
jq -e '.has_changes == false and .executed == false' "$run_dir/redeploy.json" > /dev/null \
  || fail "the unchanged re-deploy was not a no-op: $(cat "$run_dir/redeploy.json")"
echo "no changes: the second deploy executed nothing"
"$deployer" status --stack-name "$stack"

step "5/5 run the service behind the local ALB login emulator (deployer local-auth)"
auth_port=$(lib_free_port)
app_port=$(lib_free_port)
"$deployer" local-auth --listen "127.0.0.1:$auth_port" --upstream "http://127.0.0.1:$app_port" \
  > "$run_dir/local-auth.env" 2> "$run_dir/local-auth.log" &
auth_pid=$!
LIB_PIDS+=("$auth_pid")
lib_wait_for_line "$run_dir/local-auth.env" '^export LOGOUT_URL=' 30 "$auth_pid" > /dev/null \
  || fail "the login emulator did not start (see $run_dir/local-auth.log)"
# The emulator prints the exact environment the app needs (ALB_ARN, keys URL, ...).
(
  # shellcheck disable=SC1091
  source "$run_dir/local-auth.env"
  PORT=$app_port exec "$service_bin"
) > "$run_dir/service.log" 2>&1 &
service_pid=$!
LIB_PIDS+=("$service_pid")
lib_wait_for_http "http://127.0.0.1:$app_port/healthz" 30 "$service_pid" || fail "the service did not start (see $run_dir/service.log)"

base="http://127.0.0.1:$auth_port"
jar="$run_dir/cookies.txt"
login_page=$(curl -sS -c "$jar" -b "$jar" -L "$base/api/me")
state=$(printf '%s' "$login_page" | sed -n 's/.*name="state"[^>]*value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$state" ] || fail "an anonymous request did not end on the emulator's login form"
curl -sS -c "$jar" -b "$jar" -o /dev/null --data-urlencode "username=local-user" \
  --data-urlencode "email=local-user@example.com" --data-urlencode "state=$state" "$base/_alb/login"
me=$(curl -fsS -c "$jar" -b "$jar" "$base/api/me") || fail "/api/me after login did not answer 200"
[ "$(printf '%s' "$me" | jq -r .username)" = local-user ] || fail "the service did not see the logged-in user: $me"
echo "logged in through the emulator; the service verified the ALB token: $(printf '%s' "$me" | jq -c '{sub, username, email}')"

echo
echo "local run OK: stack $stack deployed on the local AWS (dry run, create, no-op re-deploy),"
echo "image pushed to the local registry, service verified a signed login."
if [ "$serve" = yes ]; then
  echo
  echo "Open $base/ in a browser (log in with any name). Press Ctrl-C to stop everything."
  wait "${LIB_PIDS[@]}"
fi
