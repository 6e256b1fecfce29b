#!/usr/bin/env bash
# Deploy benchmark: `deployer deploy` (release build) versus `aws cloudformation deploy`
# (awscli from PyPI), side by side on one local moto (tools/moto/launcher.py).
#
#   scripts/bench/deploy.sh [RUNS]      # default 5 runs per case
#
# For each template (the deployer's test fixture, and cfn/app.yaml) and each tool it
# times a full create of a new stack and an unchanged re-deploy of the same stack.
# Prints one Markdown table (mean / min / max wall seconds) for BENCHMARKS.md.
# awscli goes into its own venv under target/ so the test venv's pins stay untouched.
set -euo pipefail

RUNS="${1:-5}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

AWSCLI_VERSION="1.36.40"   # pins botocore 1.35.99, the one moto's venv already uses
AWS_VENV="$ROOT/target/bench-venv"
if [ ! -x "$AWS_VENV/bin/aws" ]; then
  python3 -m venv "$AWS_VENV"
  "$AWS_VENV/bin/pip" install --quiet "awscli==$AWSCLI_VERSION"
fi
[ -x .venv/bin/python ] || { echo "error: .venv missing: run scripts/deps.sh" >&2; exit 1; }

cargo build --release --locked --quiet -p deployer
DEPLOYER="$ROOT/target/release/deployer"

# One moto for the whole run; stopped on exit.
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
WORK="$(mktemp -d)"
trap 'lib_stop_started; rm -rf "$WORK"' EXIT
lib_start_moto "$WORK/moto.log"
ENDPOINT="$MOTO_URL"

export AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true CI=true
unset AWS_PROFILE GITHUB_ACTIONS

ZONE="$(.venv/bin/python -c "import boto3; print(boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='bench')['HostedZone']['Id'].split('/')[-1])")"
BOUNDARY="$(.venv/bin/python -c "import boto3; print(boto3.client('iam').create_policy(PolicyName='bench-boundary', PolicyDocument='{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"logs:PutLogEvents\", \"Resource\": \"*\"}]}')['Policy']['Arn'])")"
IMAGE="123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:$(printf 'a%.0s' $(seq 64))"

# Parameters per template, as KEY=VALUE words.
fixture_params=(Greeting=Hello)

now() { date +%s.%N; }
declare -A TIMES

# time_case NAME COMMAND... : runs the command once, appends its wall time to TIMES[NAME].
time_case() {
  local name="$1"; shift
  local start end
  start="$(now)"
  local out status=0
  out="$("$@" 2>&1)" || status=$?
  end="$(now)"
  # moto refuses an unchanged CreateChangeSet outright ("No updates are to be performed.")
  # where real CloudFormation returns an empty FAILED change set; awscli's
  # --no-fail-on-empty-changeset only handles the latter. That answer is the no-op.
  if [ "$status" -ne 0 ] && ! grep -q "No updates are to be performed" <<<"$out"; then
    echo "error: $name failed: $*" >&2; echo "$out" >&2; exit 1
  fi
  TIMES[$name]+="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') "
}

deployer_deploy() { # STACK TEMPLATE PARAMS...
  local stack="$1" template="$2"; shift 2
  local args=()
  for p in "$@"; do args+=(--parameter "$p"); done
  "$DEPLOYER" deploy --stack-name "$stack" --template "$template" "${args[@]}" --yes
}
aws_deploy() { # STACK TEMPLATE PARAMS...
  local stack="$1" template="$2"; shift 2
  "$AWS_VENV/bin/aws" cloudformation deploy --stack-name "$stack" --template-file "$template" \
    --parameter-overrides "$@" --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset
}

# Warm-up (not timed): moto imports each service's backend on first use, and whichever
# tool went first would pay for it.
time_case warmup deployer_deploy bench-warm-fixture deployer/tests/fixtures/topic.yaml "${fixture_params[@]}"
time_case warmup deployer_deploy bench-warm-app cfn/app.yaml "HostedZoneId=$ZONE" "PermissionsBoundaryArn=$BOUNDARY" DomainName=warm.example.com CognitoDomainPrefix=bench-warm "ImageUri=$IMAGE"

for i in $(seq "$RUNS"); do
  for tool in deployer aws; do
    time_case "fixture-create-$tool" "${tool}_deploy" "bench-$tool-fixture-$i" deployer/tests/fixtures/topic.yaml "${fixture_params[@]}"
    time_case "fixture-noop-$tool" "${tool}_deploy" "bench-$tool-fixture-$i" deployer/tests/fixtures/topic.yaml "${fixture_params[@]}"
    # app.yaml's Cognito domain prefix and DNS names are global in moto: one stack per run.
    app_run=("HostedZoneId=$ZONE" "PermissionsBoundaryArn=$BOUNDARY" "DomainName=$tool$i.example.com" "CognitoDomainPrefix=bench-$tool-$i" "ImageUri=$IMAGE")
    time_case "app-create-$tool" "${tool}_deploy" "bench-$tool-app-$i" cfn/app.yaml "${app_run[@]}"
    time_case "app-noop-$tool" "${tool}_deploy" "bench-$tool-app-$i" cfn/app.yaml "${app_run[@]}"
  done
done

stats() { # prints "mean min max" of the numbers given
  printf '%s\n' "$@" | awk '{s+=$1; if(min==""||$1<min)min=$1; if($1>max)max=$1} END {printf "%.2f %.2f %.2f", s/NR, min, max}'
}

echo "| case | deployer mean (min-max) s | aws cloudformation deploy mean (min-max) s | ratio |"
echo "|---|---|---|---|"
for case in fixture-create fixture-noop app-create app-noop; do
  read -ra deployer_times <<<"${TIMES[$case-deployer]}"
  read -ra aws_times <<<"${TIMES[$case-aws]}"
  read -r dm dmin dmax <<<"$(stats "${deployer_times[@]}")"
  read -r am amin amax <<<"$(stats "${aws_times[@]}")"
  ratio="$(awk -v d="$dm" -v a="$am" 'BEGIN { printf "%.2f", d / a }')"
  echo "| $case | $dm ($dmin-$dmax) | $am ($amin-$amax) | ${ratio}x |"
done
echo
echo "$RUNS runs per case; $(nproc) cores; deployer $("$DEPLOYER" --version); $("$AWS_VENV/bin/aws" --version 2>&1)"
