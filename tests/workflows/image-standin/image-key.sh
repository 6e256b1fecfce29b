#!/usr/bin/env bash
# Prints the image stand-in's cache key for the git work tree it runs in: a hash of
# what `cargo build -p service` compiles from (the workspace manifests and the crates the
# service depends on). Same files, same image, like a fully cached buildx run. Used by
# build.sh beside it and by tests/workflows/conftest.py, which seeds the cache with the
# image of the working tree under test (the layer cache an earlier run would have left).
set -euo pipefail
git ls-files -z -co --exclude-standard -- Cargo.toml Cargo.lock rust-toolchain.toml .cargo service alb-token support \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64
