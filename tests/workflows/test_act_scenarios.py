"""deploy.yml and pr.yml, run for real under act against the local AWS and registry.

The scenarios share one world (conftest.py) and run in this file's order: a push plans
and applies the stack's creation, a second push (the app changed) plans and applies the
new image, a docs-only push plans nothing and applies nothing, a re-run of an older
commit is refused, a pull request (a template change) is previewed twice with one sticky
comment, a dry-run dispatch on production previews it again, and runs with a missing
variable stop naming it. Each run's full log is kept under the pytest tmp dir
(runs/NAME/act.log, lines stamped with seconds since the run started).
"""

from __future__ import annotations

import json
import re

from conftest import CFN_ROLE, DEPLOY_ROLE, PLAN_ROLE, World, pull_request_event

CHANGE_SET_SHOWN = r"Resource changes: none|Action\s+Logical ID\s+Type|No changes to deploy"
# The table row of the pull request's template change.
TARGET_GROUP_MODIFIED = r"\| Modify \| TargetGroup \| AWS::ElasticLoadBalancingV2::TargetGroup \|"
# What each job asks STS for: the plan role in `preview`, the deploy role in the apply job.
PLAN_SESSION = (PLAN_ROLE, "2400")
APPLY_SESSION = (DEPLOY_ROLE, "5400")


def ok(run, what: str) -> None:
    assert run.returncode == 0, f"{what}: act exited {run.returncode}; last lines:\n" + "\n".join(
        run.log.splitlines()[-60:]
    )


def deployer_compiled(run) -> list[str]:
    return [line for line in run.log.splitlines() if re.search(r"Compiling (deployer|oci-push|local-auth) ", line)]


def change_set_summary(run) -> str:
    found = [s for s in run.summaries() if "Change set for stack" in s]
    assert found, "no job summary with the change set; summaries seen:\n" + "\n---\n".join(run.summaries())
    return found[0]


def sessions(run) -> list[tuple[str, str]]:
    return [(a["role-to-assume"], a["role-duration-seconds"]) for a in run.assumed()]


def job_ended(run, job: str) -> str | None:
    """'succeeded' / 'failed' for a job act ran (by its display name), None if it never ran."""
    for line in run.log.splitlines():
        m = re.match(r"^\[(?:[^\]]*/)?" + re.escape(job) + r"\s*\]\s+🏁\s+Job (succeeded|failed)", line)
        if m:
            return m.group(1)
    return None


def test_push_to_main_plans_then_applies_the_stack_creation(world: World):
    assert world.stack() is None
    run = world.act("push-1", "push")
    ok(run, "first push")
    assert job_ended(run, "plan (production)") == "succeeded"
    assert job_ended(run, "apply (production)") == "succeeded"
    stack = world.stack()
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # deploy.yaml's production environment is what was deployed.
    assert stack["EnableTerminationProtection"] is True
    assert world.tags()["app"] == world.variables["STACK_NAME"]
    assert world.tags()["deployer:commit"] == world.repo.git("rev-parse", "HEAD")
    # One change set, created by the plan job, executed by the apply job; it named the
    # CloudFormation service role (the roles may create no other).
    assert [c.get("RoleARN") for c in world.create_change_set_calls()] == [CFN_ROLE]
    assert world.executed_change_sets() == 1 and world.change_sets() == []
    assert sessions(run) == [PLAN_SESSION, APPLY_SESSION]
    # The image of the working tree under test, from the build stand-in's cache (nothing compiled),
    # pushed by apply (the plan only pinned its digest).
    assert world.image_uri().endswith("@" + world.seeded_image_digest)
    assert "image cache hit" in run.log
    assert re.search(r"\[deploy/apply \(production\)\s*\].*Pushed .*@" + world.seeded_image_digest, run.log)
    # The deployer came from the binary cache of its sources: nothing compiled it.
    assert "Cache restored from key: deployer-Linux-" in run.log
    assert not deployer_compiled(run)
    # apply gives the stack's outputs to the job: the environment's URL links to the app.
    assert re.search(
        r"\[deploy/apply \(production\)\s*\].*::set-output:: AppUrl=https://app\.act\.example\.com/", run.log
    )
    # The plan job's summary has the change set table.
    summary = change_set_summary(run)
    assert "| Add | " in summary and "AWS::ECS::Service" in summary


def test_second_push_plans_and_applies_the_new_image(world: World):
    first_image = world.image_uri()
    page = world.repo.path / "service/templates/page.html"
    page.write_text(page.read_text() + "\n<!-- second push: the app changed -->\n")
    head = world.repo.commit("app: a changed page")
    run = world.act("push-2", "push")
    ok(run, "second push")
    assert world.stack()["StackStatus"] == "UPDATE_COMPLETE"
    second_image = world.image_uri()
    assert second_image != first_image
    assert second_image.split("@")[1] in run.log  # the digest the build job produced
    # moto reports no resource changes for a parameter-only update; the parameter table
    # the deployer shows says what changes.
    assert f"| ImageUri | {first_image} | {second_image} |" in change_set_summary(run)
    assert sessions(run) == [PLAN_SESSION, APPLY_SESSION]
    assert world.executed_change_sets() == 2 and world.change_sets() == []
    assert world.tags()["deployer:commit"] == head


def test_a_docs_only_push_plans_no_change_and_applies_nothing(world: World):
    before = (world.image_uri(), world.executed_change_sets(), world.tags()["deployer:commit"])
    (world.repo.path / "NOTES.md").write_text("A docs-only push.\n")
    world.repo.commit("docs: notes")
    run = world.act("push-docs", "push")
    ok(run, "docs-only push")
    # The same app gives the same image (the build stand-in's cache: same sources, same
    # archive) and the same template: only the commit tag would change, which is no change.
    assert "image cache hit" in run.log
    assert "No changes to deploy" in run.log
    assert job_ended(run, "plan (production)") == "succeeded"
    assert job_ended(run, "apply (production)") is None, "apply ran (and would have asked for approval)"
    assert sessions(run) == [PLAN_SESSION]
    assert (world.image_uri(), world.executed_change_sets(), world.tags()["deployer:commit"]) == before
    assert world.change_sets() == []


def test_an_older_commit_is_refused_after_a_newer_one_deployed(world: World):
    """A re-run of an older push (its tests finishing late): the plan refuses it."""
    newest = world.repo.git("rev-parse", "HEAD")
    recorded = world.tags()["deployer:commit"]
    older = world.repo.git("rev-parse", "HEAD~2")  # before the second push's app change
    before = (world.image_uri(), world.executed_change_sets())
    world.repo.git("checkout", "-q", "-B", "main", older)
    try:
        run = world.act("push-older", "push")
    finally:
        world.repo.git("checkout", "-q", "-B", "main", newest)
    assert run.returncode != 0
    plan_lines = "\n".join(run.job_lines("deploy/plan"))
    assert older in plan_lines and recorded in plan_lines, plan_lines[-3000:]
    assert job_ended(run, "apply (production)") is None
    assert (world.image_uri(), world.executed_change_sets()) == before
    assert world.change_sets() == []


def test_pull_request_previews_without_executing_and_keeps_one_comment(world: World):
    before = (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets())
    # A template change (the app is unchanged: same image, nothing to compile).
    template = world.repo.path / "cfn/app.yaml"
    text = template.read_text()
    delay = '- Key: deregistration_delay.timeout_seconds\n          Value: "10"\n'
    assert text.count(delay) == 1
    template.write_text(text.replace(delay, delay.replace('"10"', '"20"')))
    world.repo.commit("cfn: a longer deregistration delay (proposed in a pull request)")
    # Untrusted pull-request text that would run a command if a workflow ever pasted it
    # into a script (`${{ github.head_ref }}` in a run:); zizmor forbids that statically.
    injected = world.workdir / "injected"
    command = f"$(touch${{IFS}}{injected})"
    event = pull_request_event(7, head_ref=f"feature/{command}", title=f"`{command}` ${{{{ 1 }}}}")
    run = world.act("pr-1", "pull_request", workflow="pr.yml", event_payload=event)
    ok(run, "pull request, first push")
    assert (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets()) == before
    assert world.change_sets() == [], "the preview left a change set behind"
    assert sessions(run) == [PLAN_SESSION]
    assert job_ended(run, "apply (production)") is None
    assert "Dry run: change set deleted, nothing executed" in run.log
    summary = change_set_summary(run)
    assert re.search(TARGET_GROUP_MODIFIED, summary), summary
    assert "ImageUri" not in summary, "the app did not change, so neither may the image"
    assert "image cache hit" in run.log
    comments = world.github.on_issue(7)
    assert len(comments) == 1 and world.github.writes() == [("POST", "/repos/example-org/alb-app/issues/7/comments")]
    body = comments[0]["body"]
    assert body.startswith("<!-- alb-cognito-deploy:preview -->")
    assert re.search(TARGET_GROUP_MODIFIED, body), body
    assert not injected.exists(), "pull-request text ran as a command"
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


def test_dispatch_dry_run_on_production_previews_with_the_plan_role(world: World):
    before = (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets())
    run = world.act("dispatch-dry-run", "workflow_dispatch", inputs={"environment": "production", "dry-run": "true"})
    ok(run, "dispatch with dry-run")
    # The plan job runs in `preview`, whose OIDC subject the plan role trusts, whatever it
    # previews; nothing assumes the deploy role.
    assert sessions(run) == [PLAN_SESSION]
    assert job_ended(run, "apply (production)") is None
    assert (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets()) == before
    assert world.change_sets() == []
    # The pull request's template change is still pending: the preview shows it.
    assert re.search(TARGET_GROUP_MODIFIED, change_set_summary(run))
    assert all(c.get("RoleARN") == CFN_ROLE for c in world.create_change_set_calls())


def test_a_missing_role_variable_stops_the_plan_before_aws(world: World):
    """No AWS_PLAN_ROLE_ARN: the plan job names it and stops before any AWS call, with no
    fallback to the deploy role (which does not trust `preview`)."""
    before = (world.stack()["StackStatus"], world.image_uri(), len(world.create_change_set_calls()))
    variables = {k: v for k, v in world.variables.items() if k != "AWS_PLAN_ROLE_ARN"}
    run = world.act("missing-role", "push", variables=variables)
    assert run.returncode != 0
    assert "AWS_PLAN_ROLE_ARN is not set" in run.log
    assert run.assumed() == [], "the job reached AWS despite the missing variable"
    assert job_ended(run, "apply (production)") is None
    assert (world.stack()["StackStatus"], world.image_uri(), len(world.create_change_set_calls())) == before


def test_a_missing_deploy_yaml_variable_is_named_by_the_deployer(world: World):
    """No HOSTED_ZONE_ID: deploy.yaml's production environment reads it; the deployer names
    the variable, the environment and the key, before any change set."""
    before = (world.stack()["StackStatus"], world.image_uri(), len(world.create_change_set_calls()))
    variables = {k: v for k, v in world.variables.items() if k != "HOSTED_ZONE_ID"}
    run = world.act("missing-variable", "push", variables=variables)
    assert run.returncode != 0
    plan_lines = "\n".join(run.job_lines("deploy/plan"))
    assert "HOSTED_ZONE_ID" in plan_lines and "production" in plan_lines and "HostedZoneId" in plan_lines
    assert job_ended(run, "apply (production)") is None
    assert (world.stack()["StackStatus"], world.image_uri(), len(world.create_change_set_calls())) == before


def test_timings_are_recorded(world: World):
    """Not an assertion on speed: writes the measured times for BENCHMARKS.md."""
    times = {}
    for name, run in world.runs.items():
        shown = run.first(CHANGE_SET_SHOWN)
        applied = run.first(r"\[deploy/apply \(production\)\s*\] ⭐ Run Set up job")
        times[name] = {
            "total_s": round(run.seconds, 1),
            "to_change_set_s": shown and round(shown, 1),
            "to_apply_start_s": applied and round(applied, 1),
        }
    (world.workdir / "timings.json").write_text(json.dumps(times, indent=2))
    print("act timings:", json.dumps(times))
    assert times["push-1"]["to_change_set_s"] is not None
