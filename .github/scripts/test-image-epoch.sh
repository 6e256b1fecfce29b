#!/usr/bin/env bash
# Tests image-epoch.sh (and dockerignore.py) in a throwaway git repository shaped like this
# one, with this repository's own .dockerignore: commits that touch no input of the image
# (README, cfn/, deployer/ sources, the service's tests) leave the epoch where it was;
# a change to a source the image builds from, the Dockerfile, the ignore file, Cargo.lock
# or a member's manifest moves it. Run by scripts/checks/25-service-dockerfile.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
epoch_script=$root/.github/scripts/image-epoch.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

repo=$work/repo
mkdir -p "$repo"
cd "$repo"
git init -q -b main
git config user.email test@example.com
git config user.name test
cp "$root/.dockerignore" .dockerignore

# commit SECONDS FILE...: writes a new line into each FILE and commits at time SECONDS.
commit() {
  local at=$1; shift
  for file in "$@"; do
    mkdir -p "$(dirname "$file")"
    echo "change at $at" >> "$file"
  done
  git add -A
  GIT_AUTHOR_DATE="@$at +0000" GIT_COMMITTER_DATE="@$at +0000" git commit -q -m "at $at"
}
expect() { # WANT WHY
  local got
  got=$("$epoch_script" . service/Dockerfile) || { fail "$2: image-epoch.sh failed"; return; }
  [ "$got" = "$1" ] || fail "$2: epoch $got, expected $1"
}

commit 1000 Cargo.toml Cargo.lock service/Cargo.toml service/src/main.rs service/Dockerfile \
  service/templates/page.html alb-token/Cargo.toml alb-token/src/lib.rs support/Cargo.toml \
  support/src/lib.rs deployer/Cargo.toml deployer/src/main.rs oci-push/Cargo.toml \
  oci-push/src/lib.rs README.md cfn/app.yaml .github/workflows/deploy.yml
git add .dockerignore
GIT_COMMITTER_DATE="@1000 +0000" git commit -q --amend --no-edit --date "@1000 +0000"
expect 1000 "first commit"

commit 2000 README.md cfn/app.yaml deployer/src/main.rs oci-push/src/lib.rs \
  .github/workflows/deploy.yml service/tests/api.rs service/README.md alb-token/fuzz/x.rs
expect 1000 "docs, templates, the deployer, oci-push sources, workflows and service tests are not inputs"

commit 3000 service/src/main.rs
expect 3000 "a service source is an input"
commit 4000 alb-token/src/lib.rs
expect 4000 "a source of a crate the service is built from is an input"
commit 5000 service/Dockerfile
expect 5000 "the Dockerfile is an input"
commit 6000 Cargo.lock
expect 6000 "Cargo.lock is an input"
commit 7000 deployer/Cargo.toml
expect 7000 "another member's manifest is an input (cargo parses every member)"
commit 8000 .dockerignore
expect 8000 "the ignore file is an input (it decides what else is)"
commit 9000 cfn/app.yaml
expect 8000 "cfn/ is not"

# A `Dockerfile.dockerignore` beside the Dockerfile wins over the context's, as in BuildKit.
printf '*\n!service/src/\n' > service/Dockerfile.dockerignore
git add -A
GIT_AUTHOR_DATE="@10000 +0000" GIT_COMMITTER_DATE="@10000 +0000" git commit -q -m ignore
commit 11000 Cargo.lock
expect 10000 "with service/Dockerfile.dockerignore, Cargo.lock is no longer admitted"
commit 12000 service/src/main.rs
expect 12000 "and service/src still is"

# The old rule (everything in the context but *.md and .github) moved on each of these.
old=$(git log -1 --format=%ct -- . ':(exclude,glob)**/*.md' ':(exclude).github')
[ "$old" = 12000 ] || fail "sanity: the old rule gave $old"

# Errors: wrong arguments, a missing Dockerfile, a shallow clone.
if "$epoch_script" . >/dev/null 2>&1; then fail "one argument accepted"; fi
if "$epoch_script" . nope/Dockerfile 2>"$work/err"; then fail "a missing Dockerfile accepted"; fi
grep -q "nope/Dockerfile" "$work/err" || fail "the missing Dockerfile is not named: $(cat "$work/err")"
git clone -q --depth 1 "file://$repo" "$work/shallow"
if (cd "$work/shallow" && "$epoch_script" . service/Dockerfile) 2>"$work/err"; then
  fail "a shallow clone accepted"
fi
grep -q "fetch-depth: 0" "$work/err" || fail "the shallow clone error does not say what to do: $(cat "$work/err")"

# dockerignore.py against BuildKit's matching rules, case by case.
matcher=$root/.github/scripts/dockerignore.py
admitted() { # IGNORE_LINES PATH -> exit 0 when PATH is admitted
  printf '%b' "$1" > "$work/ignore"
  printf '%s\0' "$2" | python3 "$matcher" . "$work/ignore" | grep -qz .
}
admitted '*.md\n' 'a/README.md' || fail "*.md is top level only: a/README.md stays"
admitted '*.md\n' 'README.md' && fail "*.md excludes README.md"
admitted '**/*.md\n' 'a/b/README.md' && fail "**/*.md excludes a/b/README.md"
admitted 'target\n' 'target/debug/x' && fail "a directory pattern excludes what is under it"
admitted '*\n!src\n' 'src/a/b.rs' || fail "!src re-admits what is under it"
admitted '*\n!src\nsrc/gen\n' 'src/gen/x' && fail "the last matching pattern decides"
admitted '/a/./b/\n' 'a/b/c' && fail "patterns are cleaned (leading /, ./, trailing /)"
admitted 'fil?.txt\n' 'file.txt' && fail "? matches one character"
admitted '[a-c].txt\n' 'b.txt' && fail "[a-c] is a class"
admitted '[a-c].txt\n' 'd.txt' || fail "[a-c] does not match d"

if [ "$failures" -gt 0 ]; then
  echo "test-image-epoch: $failures failed" >&2
  exit 1
fi
echo "test-image-epoch: all cases passed"
