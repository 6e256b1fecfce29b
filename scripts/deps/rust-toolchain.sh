#!/usr/bin/env bash
# Makes the toolchain rust-toolchain.toml pins usable offline (scripts/deps.sh runs this
# before any cargo call). rustup reads rust-toolchain.toml in the repository and, when
# that exact version (e.g. 1.95.0) is not installed, every cargo/rustc call here fails
# trying to download it, even on a machine whose `stable` IS that version.
#
#   - pinned toolchain installed (e.g. on GitHub, where `rustup toolchain install` ran):
#     does nothing;
#   - otherwise, when the `stable` toolchain's rustc is exactly the pinned version: makes
#     the pinned name point at stable's directory, so rustup sees it as installed;
#   - otherwise: says what to run and fails.
#
# Not `rustup toolchain link`: rustup refuses official names for linked toolchains
# ("invalid custom toolchain name '1.95.0'"), and rust-toolchain.toml names an official
# one. A symlink in RUSTUP_HOME/toolchains is what rustup itself reads as installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
toml=$PWD/rust-toolchain.toml

if ! command -v rustup >/dev/null; then
  # Only rustup reads rust-toolchain.toml; a plain rustc is used as it is.
  exit 0
fi
want=$(sed -n 's/^channel *= *"\(.*\)" *$/\1/p' "$toml")
[ -n "$want" ] || { echo "error: no channel = \"...\" line in $toml" >&2; exit 1; }

# Outside the repository, so rust-toolchain.toml does not apply to these calls.
cd /
host=$(RUSTUP_TOOLCHAIN=stable rustc -vV 2>/dev/null | sed -n 's/^host: //p') || host=
if rustup toolchain list | awk '{print $1}' | grep -qx -e "$want" -e "$want-${host:-none}"; then
  exit 0
fi
stable=$(RUSTUP_TOOLCHAIN=stable rustc --version 2>/dev/null || true)
case "$stable" in
  "rustc $want "*) ;;
  *)
    echo "error: rust-toolchain.toml pins Rust $want, which rustup does not have, and the stable" >&2
    echo "toolchain is '${stable:-not installed}'. Run: rustup toolchain install $want" >&2
    exit 1
    ;;
esac
sysroot=$(RUSTUP_TOOLCHAIN=stable rustc --print sysroot)
link="${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$want-$host"
ln -sfn "$sysroot" "$link"
echo "==> deps: Rust $want (rust-toolchain.toml) is this machine's stable: $link -> $sysroot" >&2
