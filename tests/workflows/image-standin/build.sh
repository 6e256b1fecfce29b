#!/usr/bin/env bash
# The image build of the act scenarios, called by the docker stand-in
# (tests/workflows/bin/docker) for `docker buildx build` in .github/scripts/build-images.sh.
# On GitHub BuildKit runs the Dockerfile (here service/Dockerfile: a static
# `cargo build --release -p service` copied into `scratch`) and writes the image as an OCI
# archive. act runs on a host with no Docker engine, so this builds the same image the way
# scripts/local.sh does: the same static cargo build, then `xtask image` packages the
# binary as a one-layer OCI image (deterministic: every timestamp is 0, so
# SOURCE_DATE_EPOCH has nothing left to pin), tarred to `dest`. It only knows the
# sample's Dockerfile and fails on any other. xtask is the test's own build
# ($STANDIN_XTASK), as buildx is the runner's.
#
# Finished archives are kept in $STANDIN_IMAGE_CACHE_DIR keyed on a hash of the files the
# service is compiled from (image-key.sh), so an unchanged app is not rebuilt: the test
# seeds it with the image of the working tree under test, as an earlier CI run's layers
# would be. (The workflow itself restores no layer cache; this cache only saves the
# scenarios from compiling the same service again.) Inputs in the environment:
# CONTEXT, DOCKERFILE, OUTPUTS (type=oci,dest=FILE[,rewrite-timestamp=true]).
set -euo pipefail
: "${STANDIN_CARGO_TARGET_DIR:?the act test must pass --env STANDIN_CARGO_TARGET_DIR=DIR}"
: "${STANDIN_IMAGE_CACHE_DIR:?the act test must pass --env STANDIN_IMAGE_CACHE_DIR=DIR}"
: "${STANDIN_XTASK:?the act test must pass --env STANDIN_XTASK=FILE (a built xtask binary)}"
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

key=$(bash "$(dirname "$0")/image-key.sh")
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
  # needs no epoch: `xtask image` writes every timestamp as 0.
  #
  # Our own crates get their own units in the shared target dir (a codegen-units
  # override, nothing else differs): cargo names a path crate's unit by its path relative
  # to the workspace, so the project's checkout and act's copy of it would share units,
  # and cargo judges them fresh by comparing file times. A copy changed by a scenario
  # (older files than the last build) could then ship the checkout's binary, and the
  # checkout's next build act's changed binary. Both happened. The project's own checkout
  # (STANDIN_OWN_CHECKOUT=1, tests/workflows/conftest.py seeding the cache) builds exactly
  # as scripts/local.sh; a copy act made is always newer than its last build, so its
  # three crates always compile (~35 s), and only they do.
  isolate=()
  if [ "${STANDIN_OWN_CHECKOUT:-}" != 1 ]; then
    for crate in service alb-token support; do
      isolate+=(--config "profile.release.package.$crate.codegen-units=16")
    done
  fi
  # cargo's fingerprint log (why each unit was rebuilt) goes to the run's records.
  log="$STANDIN_RECORD_DIR/cargo-build.log"
  if ! env -u SOURCE_DATE_EPOCH CARGO_LOG=cargo::core::compiler::fingerprint=info \
    RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked -p service --target "$host" "${isolate[@]}" 2> "$log"; then
    grep -v 'cargo::core::compiler::fingerprint' "$log" >&2
    fail "cargo build -p service failed (full log: $log)"
  fi
  grep -E '^ +Compiling ' "$log" || echo "cargo compiled nothing"
  layout=$(mktemp -d)
  trap 'rm -rf "$layout"' EXIT
  # The packaging tool is the test's own build of xtask (like buildx itself, it is not
  # what the workflow tests): `cargo xtask` here would compile it again in this fresh copy.
  "$STANDIN_XTASK" image --binary "$CARGO_TARGET_DIR/$host/release/service" --out "$layout" --tag latest
  mkdir -p "$STANDIN_IMAGE_CACHE_DIR"
  tar -C "$layout" -cf "$cached.tmp" oci-layout index.json blobs
  mv "$cached.tmp" "$cached"
fi
mkdir -p "$(dirname "$dest")"
cp "$cached" "$dest"
digest=$(tar -xOf "$dest" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')
echo "digest=$digest" >> "$GITHUB_OUTPUT"
echo "image: $dest ($digest)"
