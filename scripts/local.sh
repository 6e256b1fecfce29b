#!/usr/bin/env bash
# The whole main job on one machine (README: `make local`), with no AWS account and no
# Docker engine:
#   1. starts a local AWS (moto, via tools/moto/launcher.py) and a local OCI registry
#      (Debian's docker-registry), and creates a Route 53 hosted zone in it;
#   2. builds the service as a static binary and packages it as an OCI image (cargo xtask image);
#   3. deploys an application (deploy.yaml version 2): an environment (network, load
#      balancer, login) and two services on it, `web` behind the login and `public`
#      without: deployer deploy --dry-run (one preview of every stack), deployer deploy
#      (pushes, creates the environment, then both services), then a second deploy that
#      must report no changes;
#   4. runs both services behind the local ALB login emulator (deployer local-auth),
#      routed by host as the load balancer's rules do, logs in on app.localhost with
#      curl and reaches www.localhost without a login;
#   5. a pull-request preview: deploys the `preview` environment (its stack only), brings
#      pull request 7's services up on it (deployer preview up: express create, the wait
#      for ECS), logs in on its host pr-7-web.localhost through the emulator with the
#      preview's own app client, then takes it down (deployer preview down) and checks
#      nothing of it is left;
#   6. on a terminal, keeps the app running for you to open until Ctrl-C; otherwise (or
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
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

step "1/6 install what the run needs (scripts/deps.sh: docker-registry, moto in .venv)"
./scripts/deps.sh

step "2/6 build the deployer, and the service as a static binary packaged as an OCI image"
lib_build_bins
target=$(rustc -vV | sed -n 's/^host: //p')
# Static (crt-static), like service/Dockerfile: the image has nothing but this file.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --locked --release -p service --target "$target"
deployer="$root/target/debug/deployer"
service_bin="$root/target/$target/release/service"
cargo xtask image --binary "$service_bin" --out "$run_dir/image" --tag local
echo "service binary: $(du -h "$service_bin" | cut -f1)"

step "3/6 start a local AWS (moto) and a local OCI registry (docker-registry)"
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

# The application on the local AWS: one environment (network, load balancer, login) and
# two services on it, as deploy.yaml describes them for AWS: `web` (the sample behind the
# login) and `public` (the same image without login, a public page).
config="$run_dir/deploy.yaml"
cat > "$config" <<YAML
version: 2
application: hello
templates: { environment: $root/cfn/environment.yaml, service: $root/cfn/service.yaml }
environments:
  local:
    region: us-east-1
    domain: $zone_domain
    hosted_zone_id: $hosted_zone_id
    cognito_domain_prefix: hello-local-login
    permissions_boundary_arn: $boundary_arn
    nat_gateways: 1
    wildcard_certificate: true
  preview:                                   # hosts only pull-request previews
    region: us-east-1
    domain: preview.$zone_domain
    hosted_zone_id: $hosted_zone_id
    cognito_domain_prefix: hello-preview-login
    permissions_boundary_arn: $boundary_arn
    nat_gateways: 1
    previews: { max: 3, max_age: 7d }
services:
  web:
    image: { context: $root }
    repository: hello-web
    port: 8080
    health_path: /healthz
    host: app
    login: cognito
    cpu: 256
    memory: 512
    scaling: { min: 1, max: 2 }
  public:
    image: { context: $root }
    repository: hello-public
    port: 8080
    health_path: /healthz
    host: www
    login: none
    cpu: 256
    memory: 512
    scaling: { min: 1, max: 2 }
YAML
deploy_args=(
  --config "$config" --environment local
  --image "web=oci:$run_dir/image:local" --image "public=oci:$run_dir/image:local"
)

step "4/6 deploy the environment and both services: dry run, real deploy, unchanged re-deploy"
echo "--- deployer deploy --dry-run (one preview of every stack's change set, then deleted)"
"$deployer" deploy "${deploy_args[@]}" --dry-run
echo "--- deployer deploy --yes (the environment first, then the services in parallel)"
"$deployer" deploy "${deploy_args[@]}" --yes
"$deployer" status --config "$config" --environment local --output json > "$run_dir/status.json"
jq -e '[.environment_stack.status, (.services[] | .stack.status)] == ["CREATE_COMPLETE", "CREATE_COMPLETE", "CREATE_COMPLETE"]' \
  "$run_dir/status.json" > /dev/null || fail "the environment and both services are not CREATE_COMPLETE: $(cat "$run_dir/status.json")"
echo "--- deployer deploy --yes (again, nothing changed: must be a no-op for every stack)"
"$deployer" deploy "${deploy_args[@]}" --yes --output json > "$run_dir/redeploy.json"
jq -e '[.stacks[] | (.has_changes or .executed)] | any | not' "$run_dir/redeploy.json" > /dev/null \
  || fail "the unchanged re-deploy was not a no-op: $(cat "$run_dir/redeploy.json")"
echo "no changes: the second deploy executed nothing"
"$deployer" status --config "$config" --environment local

step "5/6 run both services behind the local ALB login emulator, routed by host"
auth_port=$(lib_free_port)
app_port=$(lib_free_port)
www_port=$(lib_free_port)
"$deployer" local-auth --listen "127.0.0.1:$auth_port" --output json \
  --route "app.localhost=http://127.0.0.1:$app_port" \
  --route "www.localhost=http://127.0.0.1:$www_port,login=none" \
  > "$run_dir/local-auth.json" 2> "$run_dir/local-auth.log" &
auth_pid=$!
LIB_PIDS+=("$auth_pid")
lib_wait_for_line "$run_dir/local-auth.json" '^{' 30 "$auth_pid" > /dev/null \
  || fail "the login emulator did not start (see $run_dir/local-auth.log)"
# The emulator prints the exact environment the login app needs (ALB_ARN, keys URL, ...).
head -1 "$run_dir/local-auth.json" \
  | jq -r '.routes[] | select(.host == "app.localhost") | .env | to_entries[] | "export \(.key)=\(.value | @sh)"' \
  > "$run_dir/web.env"
(
  # shellcheck disable=SC1091
  source "$run_dir/web.env"
  PORT=$app_port exec "$service_bin"
) > "$run_dir/web.log" 2>&1 &
LIB_PIDS+=("$!")
LOGIN=none PORT=$www_port "$service_bin" > "$run_dir/public.log" 2>&1 &
LIB_PIDS+=("$!")
lib_wait_for_http "http://127.0.0.1:$app_port/healthz" 30 || fail "service web did not start (see $run_dir/web.log)"
lib_wait_for_http "http://127.0.0.1:$www_port/healthz" 30 || fail "service public did not start (see $run_dir/public.log)"

app="http://app.localhost:$auth_port"
www="http://www.localhost:$auth_port"
jar="$run_dir/cookies.txt"
c() { curl -sS --resolve "app.localhost:$auth_port:127.0.0.1" --resolve "www.localhost:$auth_port:127.0.0.1" -c "$jar" -b "$jar" "$@"; }
public_page=$(c -f "$www/") || fail "the public host did not answer 200 without login"
printf '%s' "$public_page" | grep -q 'no-login' || fail "the public host did not show its public page"
echo "public host: answered without any login"
# The login host sends the browser to the emulator's own login page (as Cognito's hosted
# UI has its own domain); after the form, the emulator sends it back to the host's
# /oauth2/idpresponse, which sets that host's session cookie. The cookie is `Secure`, as
# the ALB's: browsers keep it on http://*.localhost, curl does not, so it is sent by hand.
login_url=$(c -o /dev/null -w '%{redirect_url}' "$app/")
login_page=$(c "$login_url")
state=$(printf '%s' "$login_page" | sed -n 's/.*name="state"[^>]*value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$state" ] || fail "an anonymous request to the login host did not end on the emulator's login form"
callback=$(c -o /dev/null -w '%{redirect_url}' --data-urlencode "username=local-user" \
  --data-urlencode "email=local-user@example.com" --data-urlencode "state=$state" "http://127.0.0.1:$auth_port/_alb/login")
session=$(c -o /dev/null -D - "$callback" | sed -n 's/^[Ss]et-[Cc]ookie: \(AWSELBAuthSessionCookie-[0-9]*=[^;]*\).*/\1/p' | paste -sd ';' -)
[ -n "$session" ] || fail "the login host's callback set no session cookie"
me=$(c -f -H "Cookie: $session" "$app/api/me") || fail "/api/me after login did not answer 200"
[ "$(printf '%s' "$me" | jq -r .username)" = local-user ] || fail "the service did not see the logged-in user: $me"
echo "logged in through the emulator; service web verified the ALB token: $(printf '%s' "$me" | jq -c '{sub, username, email}')"

step "6/6 a pull-request preview: preview environment, preview up --pr 7, login on its host, preview down"
preview_started=$(date +%s)
"$deployer" -q deploy --config "$config" --environment preview --yes > /dev/null
"$deployer" preview up --config "$config" --pr 7 --output json \
  --image "web=oci:$run_dir/image:local" --image "public=oci:$run_dir/image:local" > "$run_dir/preview-up.json" \
  || fail "deployer preview up failed: $(cat "$run_dir/preview-up.json")"
jq -e '.state == "ready" and ([.services[].mode] | unique) == ["express"]' "$run_dir/preview-up.json" > /dev/null \
  || fail "the preview is not ready or was not created in express mode: $(cat "$run_dir/preview-up.json")"
preview_url=$(jq -r '.services[] | select(.service == "web") | .url' "$run_dir/preview-up.json")
[ "$preview_url" = "https://pr-7-web.preview.$zone_domain/" ] || fail "unexpected preview URL $preview_url"
echo "preview pr-7 ready in $(( $(date +%s) - preview_started ))s (environment deploy included): $preview_url"
# The preview's own app client, whose callback is its own host.
client_id=$(.venv/bin/python - "$moto_url" <<'PY'
import sys, boto3
cfn = boto3.client("cloudformation", endpoint_url=sys.argv[1], region_name="us-east-1")
out = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="hello-preview-pr-7-web")["Stacks"][0]["Outputs"]}
env = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="hello-preview")["Stacks"][0]["Outputs"]}
idp = boto3.client("cognito-idp", endpoint_url=sys.argv[1], region_name="us-east-1")
client = idp.describe_user_pool_client(UserPoolId=env["UserPoolId"], ClientId=out["UserPoolClientId"])["UserPoolClient"]
assert client["CallbackURLs"] == ["https://pr-7-web.preview.local.example.com/oauth2/idpresponse"], client["CallbackURLs"]
print(out["UserPoolClientId"])
PY
) || fail "the preview's user pool client is missing or has another callback"
pr_auth_port=$(lib_free_port)
pr_port=$(lib_free_port)
"$deployer" local-auth --listen "127.0.0.1:$pr_auth_port" --output json \
  --route "pr-7-web.localhost=http://127.0.0.1:$pr_port,login=cognito,client-id=$client_id" \
  > "$run_dir/local-auth-pr.json" 2> "$run_dir/local-auth-pr.log" &
LIB_PIDS+=("$!")
lib_wait_for_line "$run_dir/local-auth-pr.json" '^{' 30 "$!" > /dev/null \
  || fail "the preview's login emulator did not start (see $run_dir/local-auth-pr.log)"
head -1 "$run_dir/local-auth-pr.json" | jq -r '.routes[0].env | to_entries[] | "export \(.key)=\(.value | @sh)"' > "$run_dir/pr.env"
(
  # shellcheck disable=SC1091
  source "$run_dir/pr.env"
  PORT=$pr_port exec "$service_bin"
) > "$run_dir/pr-7-web.log" 2>&1 &
pr_pid=$!
LIB_PIDS+=("$pr_pid")
lib_wait_for_http "http://127.0.0.1:$pr_port/healthz" 30 "$pr_pid" || fail "the preview's web did not start (see $run_dir/pr-7-web.log)"
pr="http://pr-7-web.localhost:$pr_auth_port"
p() { curl -sS --resolve "pr-7-web.localhost:$pr_auth_port:127.0.0.1" -c "$jar.pr" -b "$jar.pr" "$@"; }
login_url=$(p -o /dev/null -w '%{redirect_url}' "$pr/")
state=$(p "$login_url" | sed -n 's/.*name="state"[^>]*value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$state" ] || fail "an anonymous request to the preview host did not end on the login form"
callback=$(p -o /dev/null -w '%{redirect_url}' --data-urlencode "username=reviewer" \
  --data-urlencode "email=reviewer@example.com" --data-urlencode "state=$state" "http://127.0.0.1:$pr_auth_port/_alb/login")
case "$callback" in "$pr/oauth2/idpresponse"*) ;; *) fail "the login did not come back to the preview host's callback: $callback" ;; esac
session=$(p -o /dev/null -D - "$callback" | sed -n 's/^[Ss]et-[Cc]ookie: \(AWSELBAuthSessionCookie-[0-9]*=[^;]*\).*/\1/p' | paste -sd ';' -)
me=$(p -f -H "Cookie: $session" "$pr/api/me") || fail "/api/me on the preview host after login did not answer 200"
[ "$(printf '%s' "$me" | jq -r .username)" = reviewer ] || fail "the preview did not see the logged-in user: $me"
echo "logged in on the preview host pr-7-web.localhost with the preview's own app client $client_id"
"$deployer" preview down --config "$config" --pr 7
"$deployer" preview list --config "$config" --output json > "$run_dir/preview-list.json"
jq -e '.previews == []' "$run_dir/preview-list.json" > /dev/null || fail "previews left after down: $(cat "$run_dir/preview-list.json")"
.venv/bin/python - "$moto_url" <<'PY' || fail "preview pr-7 left resources behind"
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1")
cfn = boto3.client("cloudformation", **kw)
left = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
        if s["StackName"].startswith("hello-preview-pr-7-") and s["StackStatus"] != "DELETE_COMPLETE"]
env = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="hello-preview")["Stacks"][0]["Outputs"]}
clients = [c["ClientName"] for c in boto3.client("cognito-idp", **kw).list_user_pool_clients(
    UserPoolId=env["UserPoolId"], MaxResults=60)["UserPoolClients"] if c["ClientName"].startswith("hello-preview-pr-7-")]
rules = [r for r in boto3.client("elbv2", **kw).describe_rules(ListenerArn=env["HttpsListenerArn"])["Rules"] if not r["IsDefault"]]
assert not (left or clients or rules), (left, clients, rules)
PY
kill "$pr_pid" 2> /dev/null || true
echo "preview pr-7 removed: no stack, app client or listener rule of it is left"

echo
echo "local run OK: environment hello-local and services web and public deployed on the local AWS"
echo "(dry run, create, no-op re-deploy), image pushed to the local registry, login on one host"
echo "verified by the service, the other host public; preview pr-7 up (express), logged in on its"
echo "host with its own app client, and down without a trace."
if [ "$serve" = yes ]; then
  echo
  echo "Open $app/ (log in with any name) and $www/ (public) in a browser. Ctrl-C stops everything."
  wait "${LIB_PIDS[@]}"
fi
