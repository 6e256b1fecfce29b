"""`deployer deploy --plan-out` and `deployer apply` against LocalStack's asynchronous
CloudFormation: the planned change set is left AVAILABLE while the stack waits, apply
executes exactly that one, and a plan made before another apply is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import TEMPLATE, settled


def plan_args(stack: str, plan: Path, greeting: str) -> list[str]:
    return [
        "deploy",
        "--stack-name",
        stack,
        "--template",
        str(TEMPLATE),
        "--parameter",
        f"Greeting={greeting}",
        "--plan-out",
        str(plan),
        "--detailed-exitcode",
    ]


def test_a_plan_is_applied_as_planned_and_a_stale_one_is_refused(
    cfn: Any, deployer: Any, stack_name: str, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    planned = deployer(*plan_args(stack_name, first, "one"))

    assert planned.returncode == 2, planned.stderr
    written = json.loads(first.read_text())
    change_set = cfn.describe_change_set(ChangeSetName=written["change_set_id"], StackName=written["stack_id"])
    assert change_set["ExecutionStatus"] == "AVAILABLE", change_set
    assert cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"

    applied = deployer("apply", str(first), "--wait-timeout", "2m", "--output", "json")

    assert applied.returncode == 0, applied.stderr
    report = json.loads(applied.stdout)
    assert report["executed"] is True and report["change_set_id"] == written["change_set_id"], report
    stack = settled(cfn, stack_name)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["Greeting"] == "one"

    # Two plans of an update, and a pull-request preview between plan and apply: change
    # sets that are only made (CREATE_CHANGESET) change nothing, so the first plan is
    # still applied. Once it is, the second is stale.
    second, third = tmp_path / "second.json", tmp_path / "third.json"
    assert deployer(*plan_args(stack_name, second, "two")).returncode == 2
    assert json.loads(second.read_text())["change_set_name"].startswith("deployer-release-")
    assert deployer(*plan_args(stack_name, third, "three")).returncode == 2
    preview = deployer(
        "deploy", "--stack-name", stack_name, "--template", str(TEMPLATE), "--parameter", "Greeting=pr", "--dry-run"
    )
    assert preview.returncode == 0, preview.stderr
    assert "deployer-preview-" in preview.stderr, preview.stderr
    applied = deployer("apply", str(second), "--wait-timeout", "2m")
    assert applied.returncode == 0, applied.stderr
    before = settled(cfn, stack_name)

    stale = deployer("apply", str(third), "--wait-timeout", "2m")

    assert stale.returncode == 1, stale.stderr
    assert "Plan again" in stale.stderr, stale.stderr
    after = settled(cfn, stack_name)
    assert after.get("LastUpdatedTime") == before.get("LastUpdatedTime"), "the stale plan was executed"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in after["Parameters"]}["Greeting"] == "two"
