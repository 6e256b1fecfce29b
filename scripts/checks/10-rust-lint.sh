#!/usr/bin/env bash
# Formatting and clippy over the whole workspace, warnings denied.
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
