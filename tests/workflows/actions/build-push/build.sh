#!/usr/bin/env bash
# The build-push stand-in's work (see action.yml beside this file for why it exists).
set -euo pipefail
: "${STANDIN_CARGO_TARGET_DIR:?the act test must pass --env STANDIN_CARGO_TARGET_DIR=DIR}"
: "${STANDIN_IMAGE_CACHE_DIR:?the act test must pass --env STANDIN_IMAGE_CACHE_DIR=DIR}"
fail() { echo "::error title=build-push stand-in::$*"; exit 1; }

[ "$DOCKERFILE" = service/Dockerfile ] || fail "only builds service/Dockerfile, got file: $DOCKERFILE"
[ "$CONTEXT" = . ] || fail "only builds the repository root as context, got context: $CONTEXT"
dest=
IFS=, read -ra parts <<< "$OUTPUTS"
for part in "${parts[@]}"; do
  case "$part" in
    type=oci) ;;
    dest=*) dest=${part#dest=} ;;
    rewrite-timestamp=true) ;;
    *) fail "unsupported outputs part '$part' (supported: type=oci,dest=FILE,rewrite-timestamp=true)" ;;
  esac
done
[ -n "$dest" ] || fail "outputs has no dest=FILE: $OUTPUTS"

# What `cargo build -p service` compiles from: the workspace manifests and the crates the
# service depends on. Same files, same image (like a fully cached buildx run).
key=$(git ls-files -z -- Cargo.toml Cargo.lock rust-toolchain.toml .cargo service alb-token support \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
cached="$STANDIN_IMAGE_CACHE_DIR/$key.tar"
if [ -f "$cached" ]; then
  echo "image cache hit ($key): the app's sources are unchanged, nothing rebuilt"
else
  host=$(rustc -vV | sed -n 's/^host: //p')
  export CARGO_TARGET_DIR="$STANDIN_CARGO_TARGET_DIR"
  mkdir -p "$STANDIN_RECORD_DIR"
  # service/Dockerfile's build stage: a static binary (glibc with +crt-static).
  # Without the step's SOURCE_DATE_EPOCH: aws-lc-sys's build script declares
  # rerun-if-env-changed=SOURCE_DATE_EPOCH, so compiling with it set would re-run that
  # script and rebuild everything above it, instead of reusing what scripts/local.sh
  # (check 60-local-run) built in this same target dir with this same command. The image
  # needs no epoch: `cargo xtask image` writes every timestamp as 0.
  # cargo's fingerprint log (why each unit was rebuilt) goes to the run's records.
  log="$STANDIN_RECORD_DIR/cargo-build.log"
  if ! env -u SOURCE_DATE_EPOCH CARGO_LOG=cargo::core::compiler::fingerprint=info \
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -p service --target "$host" 2> "$log"; then
    grep -v 'cargo::core::compiler::fingerprint' "$log" >&2
    fail "cargo build -p service failed (full log: $log)"
  fi
  grep -E '^ +Compiling ' "$log" || echo "cargo compiled nothing"
  layout=$(mktemp -d)
  trap 'rm -rf "$layout"' EXIT
  cargo xtask image --binary "$CARGO_TARGET_DIR/$host/release/service" --out "$layout" --tag latest
  mkdir -p "$STANDIN_IMAGE_CACHE_DIR"
  tar -C "$layout" -cf "$cached.tmp" oci-layout index.json blobs
  mv "$cached.tmp" "$cached"
fi
mkdir -p "$(dirname "$dest")"
cp "$cached" "$dest"
digest=$(tar -xOf "$dest" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')
echo "digest=$digest" >> "$GITHUB_OUTPUT"
echo "image: $dest ($digest)"
