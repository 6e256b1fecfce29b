#!/usr/bin/env bash
# Tests of the pinning rule (scripts/deps/check-pins.py) and of how deps.sh installs:
# the committed locks pass; a requirement without a hash, an unpinned one, a URL, an
# extra index, and an npm package without an integrity hash or from elsewhere each fail
# with the line named; deps.sh installs only with --require-hashes and `npm ci`.
# Run by scripts/checks/25-service-dockerfile.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
check=scripts/deps/check-pins.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$check" scripts/deps/requirements.txt scripts/deps/localstack-requirements.txt package-lock.json \
  || fail "the committed locks do not pass"

hash=--hash=sha256:$(printf 'a%.0s' {1..64})
refused() { # NAME CONTENT EXPECTED_TEXT
  printf '%b' "$2" > "$work/$1"
  if "$check" "$work/$1" 2>"$work/err"; then
    fail "$1 accepted: $(cat "$work/$1")"
  elif ! grep -qF -- "$3" "$work/err"; then
    fail "$1: the error does not say '$3': $(cat "$work/err")"
  fi
}
refused no-hash.txt "ok==1.0 \\\\\n    $hash\nmoto==5.2.5\n" "no-hash.txt:3: \`moto==5.2.5\` has no --hash"
refused unpinned.txt "moto>=5 \\\\\n    $hash\n" "\`moto>=5\` is not pinned"
refused url.txt "pkg @ https://example.com/pkg.whl \\\\\n    $hash\n" "is not pinned"
refused index.txt "--extra-index-url https://example.com/simple\nok==1.0 $hash\n" "is an option"
refused empty.txt "# nothing\n" "no requirements at all"
printf 'ok==1.0 ; sys_platform == "linux" \\\n    %s \\\n    %s\n' "$hash" "$hash" > "$work/marker.txt"
"$check" "$work/marker.txt" || fail "a pinned, hashed requirement with a marker was refused"

refused lock-no-integrity.json '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"version":"1.0.0"}}}' \
  "node_modules/a has no sha512 integrity hash"
refused lock-git.json '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"version":"1.0.0","resolved":"git+https://example.com/a.git","integrity":"sha512-x"}}}' \
  "node_modules/a is resolved from 'git+https://example.com/a.git'"
refused lock-v1.json '{"lockfileVersion":1,"dependencies":{}}' "lockfileVersion 1"

# deps.sh: pip with --require-hashes for both venvs, the lock checked first, npm only by `npm ci`.
grep -q -- '--require-hashes' scripts/deps.sh || fail "deps.sh does not pass --require-hashes to pip"
[ "$(grep -c 'pip_locked \.venv' scripts/deps.sh)" -eq 2 ] || fail "deps.sh installs a venv other than through pip_locked"
if grep -nE 'pip install' scripts/deps.sh | grep -v -- '--require-hashes'; then fail "a pip install without --require-hashes"; fi
if grep -nE 'npm (install|i)( |$)' scripts/deps.sh; then fail "deps.sh runs npm install (it may resolve new versions): use npm ci"; fi
grep -q 'npm ci' scripts/deps.sh || fail "deps.sh does not run npm ci"

if [ "$failures" -gt 0 ]; then
  echo "test-check-pins: $failures failed" >&2
  exit 1
fi
echo "test-check-pins: all cases passed"
