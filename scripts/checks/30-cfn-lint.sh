#!/usr/bin/env bash
# The CloudFormation templates: cfn-lint with no errors and no warnings, then checkov with
# no failed check (skips need a written reason in the resource's Metadata). Then ruff on
# the Python around them (the moto launcher, the template tests, the LocalStack suite).
# The LocalStack suite's fixture template gets cfn-lint too (not checkov: it is a test
# fixture that never reaches AWS, not infrastructure).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in cfn-lint checkov ruff; do
  if [ ! -x ".venv/bin/$tool" ]; then
    echo "error: .venv/bin/$tool is missing; run scripts/deps.sh" >&2
    exit 1
  fi
done

# cfn-lint exits non-zero on warnings too (informational findings are off by default).
.venv/bin/cfn-lint cfn/*.yaml tests/localstack/fixtures/*.yaml
echo "cfn-lint: cfn/*.yaml tests/localstack/fixtures/*.yaml clean"

# --skip-download: checkov otherwise asks the Prisma Cloud API for guidelines (no network
# here, and none needed to run the built-in checks).
.venv/bin/checkov -d cfn/ --framework cloudformation --compact --quiet --skip-download

ruff_rules=(--line-length 120 --select "E,F,W,I,B,UP,SIM")
.venv/bin/ruff check "${ruff_rules[@]}" tools/moto cfn/tests tests/localstack
.venv/bin/ruff format --check --line-length 120 tools/moto cfn/tests tests/localstack
