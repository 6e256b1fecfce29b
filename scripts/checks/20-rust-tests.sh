#!/usr/bin/env bash
# Every Rust test in the workspace: unit tests, and integration tests that start real
# local servers (moto, docker-registry, chromium) installed by scripts/deps.sh.
set -euo pipefail
cargo test --workspace --locked
