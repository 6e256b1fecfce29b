#!/usr/bin/env bash
# The whole main job on this machine, end to end (the same path as `make local`):
# local AWS + registry, static image, dry run, deploy, no-op re-deploy, login through
# the emulator. scripts/local.sh checks each outcome itself; here we also check that
# it printed its success line and left nothing running.
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! ./scripts/local.sh --no-serve 2>&1 | tee "$log"; then
  echo "check: scripts/local.sh failed" >&2
  exit 1
fi
grep -q '^local run OK' "$log" || { echo "check: no 'local run OK' line" >&2; exit 1; }
grep -q 'Dry run: change set deleted, nothing executed' "$log" || { echo "check: the dry run did not report deleting its change set" >&2; exit 1; }
sleep 0.5
# Only this checkout's processes (local.sh starts them by absolute path): other checkouts
# on the same machine may run their own moto or registry meanwhile.
root=$(pwd)
leftovers="$root/tools/moto/launcher.py|$root/\.local/run/registry.yml|$root/target/debug/deployer local-auth"
if pgrep -f "$leftovers" > /dev/null; then
  echo "check: the local run left processes running:" >&2
  pgrep -af "$leftovers" >&2
  exit 1
fi
echo "check: local run succeeded and stopped everything it started"
