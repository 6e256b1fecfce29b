"""deploy.yml and pr.yml, run for real under act against the local AWS and registry.

The scenarios share one world (conftest.py) and run in this file's order: a push creates
the stack, a second push updates it, a pull request previews the next change twice
(one sticky comment), a dry-run dispatch on production previews it again, and a push
with a missing variable stops. Each run's full log is kept under the pytest tmp dir
(runs/NAME/act.log, lines stamped with seconds since the run started).
"""

from __future__ import annotations

import json
import re

from conftest import CFN_ROLE, DEPLOY_ROLE, PLAN_ROLE, World, pull_request_event

CHANGE_SET_SHOWN = r"Resource changes: none|Action\s+Logical ID\s+Type"
# The table row of the pull request's template change.
TARGET_GROUP_MODIFIED = r"\| Modify \| TargetGroup \| AWS::ElasticLoadBalancingV2::TargetGroup \|"


def ok(run, what: str) -> None:
    assert run.returncode == 0, f"{what}: act exited {run.returncode}; last lines:\n" + "\n".join(
        run.log.splitlines()[-60:]
    )


def deployer_compiled(run) -> list[str]:
    return [line for line in run.log.splitlines() if re.search(r"Compiling (deployer|oci-push|local-auth) ", line)]


def change_set_summary(run) -> str:
    found = [s for s in run.summaries() if "Change set for stack" in s]
    assert found, "no job summary with the change set; summaries seen:\n" + "\n---\n".join(run.summaries())
    return found[-1]


def test_push_to_main_creates_the_stack(world: World):
    assert world.stack() is None
    run = world.act("push-1", "push")
    ok(run, "first push")
    stack = world.stack()
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # The change set named the CloudFormation service role (the roles may create no other).
    assert [c.get("RoleARN") for c in world.create_change_set_calls()] == [CFN_ROLE]
    assert re.fullmatch(r".+/alb-app@sha256:[0-9a-f]{64}", world.image_uri()), world.image_uri()
    # The image of the working tree under test, from the build stand-in's cache (nothing compiled).
    assert world.image_uri().endswith("@" + world.seeded_image_digest)
    assert "image cache hit" in run.log
    # The deploy job assumed the deploy role for a session as long as the job may run.
    assert [(a["role-to-assume"], a["role-duration-seconds"]) for a in run.assumed()] == [(DEPLOY_ROLE, "5400")]
    # The deployer came from the binary cache of its sources: nothing compiled it.
    assert "Cache restored from key: deployer-Linux-" in run.log
    assert not deployer_compiled(run)
    summary = change_set_summary(run)
    assert "| Add | " in summary and "AWS::ECS::Service" in summary
    assert world.change_sets() == []


def test_second_push_updates_the_stack_with_the_new_image(world: World):
    first_image = world.image_uri()
    page = world.repo.path / "service/templates/page.html"
    page.write_text(page.read_text() + "\n<!-- second push: the app changed -->\n")
    world.repo.commit("app: a changed page")
    run = world.act("push-2", "push")
    ok(run, "second push")
    assert world.stack()["StackStatus"] == "UPDATE_COMPLETE"
    second_image = world.image_uri()
    assert second_image != first_image
    assert second_image.split("@")[1] in run.log  # the digest the build job produced
    # moto reports no resource changes for a parameter-only update; the parameter table
    # the deployer shows says what changes.
    assert f"| ImageUri | {first_image} | {second_image} |" in change_set_summary(run)
    assert [c.get("RoleARN") for c in world.create_change_set_calls()] == [CFN_ROLE] * 2


def test_pull_request_previews_without_executing_and_keeps_one_comment(world: World):
    before = (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets())
    # A template change (the app is unchanged: same image, nothing to compile).
    template = world.repo.path / "cfn/app.yaml"
    text = template.read_text()
    delay = '- Key: deregistration_delay.timeout_seconds\n          Value: "10"\n'
    assert text.count(delay) == 1
    template.write_text(text.replace(delay, delay.replace('"10"', '"20"')))
    world.repo.commit("cfn: a longer deregistration delay (proposed in a pull request)")
    event = pull_request_event(7)
    run = world.act("pr-1", "pull_request", workflow="pr.yml", event_payload=event)
    ok(run, "pull request, first push")
    assert (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets()) == before
    assert world.change_sets() == [], "the preview left a change set behind"
    assert [a["role-to-assume"] for a in run.assumed()] == [PLAN_ROLE]
    assert "Dry run: change set deleted, nothing executed" in run.log or "nothing executed" in run.log
    summary = change_set_summary(run)
    assert re.search(TARGET_GROUP_MODIFIED, summary), summary
    assert "ImageUri" not in summary, "the app did not change, so neither may the image"
    assert "image cache hit" in run.log
    comments = world.github.on_issue(7)
    assert len(comments) == 1 and world.github.writes() == [("POST", "/repos/example-org/alb-app/issues/7/comments")]
    body = comments[0]["body"]
    assert body.startswith("<!-- alb-cognito-deploy:preview -->")
    assert re.search(TARGET_GROUP_MODIFIED, body), body
    first_id = comments[0]["id"]

    # A second push to the pull request (docs only): the same comment is edited in place.
    (world.repo.path / "NOTES.md").write_text("A docs-only follow-up push.\n")
    world.repo.commit("docs: follow-up push to the pull request")
    run = world.act("pr-2", "pull_request", workflow="pr.yml", event_payload=event)
    ok(run, "pull request, second push")
    comments = world.github.on_issue(7)
    assert [c["id"] for c in comments] == [first_id]
    assert world.github.writes()[1:] == [("PATCH", f"/repos/example-org/alb-app/issues/comments/{first_id}")]
    assert all(r["authorized"] for r in world.github.requests)
    assert (world.stack()["StackStatus"], world.image_uri()) == before[:2]


def test_dispatch_dry_run_on_production_previews_with_the_deploy_role(world: World):
    before = (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets())
    run = world.act("dispatch-dry-run", "workflow_dispatch", inputs={"environment": "production", "dry-run": "true"})
    ok(run, "dispatch with dry-run")
    # production's OIDC subject is trusted by the deploy role only; the plan role trusts preview.
    assert [a["role-to-assume"] for a in run.assumed()] == [DEPLOY_ROLE]
    assert (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets()) == before
    assert world.change_sets() == []
    # The pull request's template change is still pending: the preview shows it.
    assert re.search(TARGET_GROUP_MODIFIED, change_set_summary(run))
    assert all(c.get("RoleARN") == CFN_ROLE for c in world.create_change_set_calls())


def test_a_missing_variable_stops_the_deploy_naming_it(world: World):
    """A preview with neither AWS_PLAN_ROLE_ARN nor CFN_ROLE_ARN set: the job names both and
    stops before AWS, with no fallback to the deploy role (which does not trust `preview`)."""
    before = (world.stack()["StackStatus"], world.image_uri())
    variables = {k: v for k, v in world.variables.items() if k not in ("AWS_PLAN_ROLE_ARN", "CFN_ROLE_ARN")}
    run = world.act(
        "missing-variable",
        "workflow_dispatch",
        variables=variables,
        inputs={"environment": "preview", "dry-run": "true"},
    )
    assert run.returncode != 0
    assert "AWS_PLAN_ROLE_ARN is not set" in run.log
    assert "CFN_ROLE_ARN is not set" in run.log
    assert "AWS_DEPLOY_ROLE_ARN is not set" not in run.log
    assert run.assumed() == [], "the job reached AWS despite the missing variables"
    assert (world.stack()["StackStatus"], world.image_uri()) == before


def test_timings_are_recorded(world: World):
    """Not an assertion on speed: writes the measured times for BENCHMARKS.md."""
    times = {}
    for name, run in world.runs.items():
        shown = run.first(CHANGE_SET_SHOWN)
        times[name] = {"total_s": round(run.seconds, 1), "to_change_set_s": shown and round(shown, 1)}
    (world.workdir / "timings.json").write_text(json.dumps(times, indent=2))
    print("act timings:", json.dumps(times))
    assert times["push-1"]["to_change_set_s"] is not None
