#!/usr/bin/env bash
# Runs shellcheck on the project's own shell scripts: every tracked (or new, not ignored) file
# named *.sh or starting with a sh/bash shebang (scripts/, .ci/run, scripts/browser-path,
# ...). All of shellcheck's rules at every severity; a rule is only ever turned off on
# the one line it misfires on, with the reason next to it. `-x` follows `source`d files
# (scripts/lib.sh) so their functions and variables are known to the scripts using them.
# The workflows' run: blocks are checked by 40-workflows.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v shellcheck >/dev/null || { echo "error: shellcheck not found: run scripts/deps.sh" >&2; exit 1; }

scripts=()
while IFS= read -r -d '' file; do
  [ -f "$file" ] || continue # listed by git but deleted in the work tree
  if [[ $file == *.sh ]] || head -n1 "$file" | grep -qE '^#!.*\b(ba)?sh\b'; then
    scripts+=("$file")
  fi
done < <(git ls-files -z --cached --others --exclude-standard)
# An empty list would pass without checking anything.
[ ${#scripts[@]} -gt 0 ] || { echo "error: found no shell scripts to check" >&2; exit 1; }

shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean (${scripts[*]})"
