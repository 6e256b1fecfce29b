#!/usr/bin/env bash
# The templates deployed on a local moto server (tools/moto/launcher.py) through change
# sets, checked through the services' own APIs; plus the parameter constraint tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! .venv/bin/python -c 'import moto, pytest, boto3' 2>/dev/null; then
  echo "error: moto, boto3 or pytest is missing from .venv; run scripts/deps.sh" >&2
  exit 1
fi
# No __pycache__ or .pytest_cache in the checkout.
export PYTHONDONTWRITEBYTECODE=1
.venv/bin/python -m pytest cfn/tests -q -p no:cacheprovider
