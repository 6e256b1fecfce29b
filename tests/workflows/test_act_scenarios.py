"""deploy.yml and pr.yml, run for real under act against the local AWS and registry.

The scenarios share one world (conftest.py) and run in this file's order: a push plans
and applies the stack's creation, a second push (the app changed) plans and applies the
new image, a docs-only push plans nothing and applies nothing, a re-run of an older
commit is refused, a pull request (a template change) is previewed twice with one sticky
comment, a dry-run dispatch on production previews it again, an apply that failed is
re-run ("Re-run all jobs": same run, second attempt), a plan whose tests fail has its
change set discarded, runs with a missing variable stop naming it, and a first create
that failed (ROLLBACK_COMPLETE) recovers on the next push. Each run's full log is kept under the pytest tmp dir
(runs/NAME/act.log, lines stamped with seconds since the run started).
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import CFN_ROLE, DEPLOY_ROLE, PLAN_ROLE, PREVIEW_ROLE, World, pull_request_event

CHANGE_SET_SHOWN = r"Resource changes: none|Action\s+Logical ID\s+Type|No changes to deploy"
# The table row of the pull request's template change.
# Values from CloudFormation are code spans in the summary and the comment (untrusted text
# stays text): plain words stay plain, anything GitHub could link is fenced.
TARGET_GROUP_MODIFIED = r"\| Modify \| TargetGroup \| (`+) AWS::ElasticLoadBalancingV2::TargetGroup \1 \|"
# What each job asks STS for: the plan role for a push or dispatch, the preview role for
# a pull request, the deploy role in the apply job, the plan role again to discard.
PLAN_SESSION = (PLAN_ROLE, "2400")
PREVIEW_SESSION = (PREVIEW_ROLE, "2400")
APPLY_SESSION = (DEPLOY_ROLE, "5400")
DISCARD_SESSION = (PLAN_ROLE, "900")
# The checksum steps of the jobs that run the deployer and use the image (deploy.yml).
DEPLOYER_CHECKED = r"✅\s+Success - Main Check the deployer against the checksum its build job output"


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
    # The deployer came from this run's build-deployer job (under act, the cargo stand-in
    # hands over the session's build of the same sources: nothing compiled it), and both
    # jobs that ran it checked it against that job's sha256 output first.
    assert "cargo stand-in: deployer sources unchanged" in run.log
    assert not deployer_compiled(run)
    for job in ("plan", "apply"):
        lines = "\n".join(run.job_lines(f"deploy/{job} (production)"))
        assert re.search(DEPLOYER_CHECKED, lines), f"{job} ran the deployer without checking its checksum"
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
    assert f"| ImageUri | ` {first_image} ` | ` {second_image} ` |" in change_set_summary(run)
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
    # The preview role (by the event), never the plan role.
    assert sessions(run) == [PREVIEW_SESSION]
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
    # A dispatch on main gets the plan role, whatever it previews; nothing assumes the
    # deploy role.
    assert sessions(run) == [PLAN_SESSION]
    assert job_ended(run, "apply (production)") is None
    assert (world.stack()["StackStatus"], world.image_uri(), world.executed_change_sets()) == before
    assert world.change_sets() == []
    # The pull request's template change is still pending: the preview shows it.
    assert re.search(TARGET_GROUP_MODIFIED, change_set_summary(run))
    assert all(c.get("RoleARN") == CFN_ROLE for c in world.create_change_set_calls())


def test_a_failed_apply_is_rerun_with_all_jobs(world: World):
    """Attempt 1: the plan is made and uploaded, then apply fails (here: its role variable
    is unset, as an expired approval or a transient error would fail it). Attempt 2 is
    GitHub's "Re-run all jobs": the same run id, run_attempt 2, the first attempt's
    artifacts still there. Every job uploads its artifact again under the same name
    (upload-artifact v4 refuses that unless `overwrite: true`, and so does the stand-in),
    the plan is made afresh and apply executes it."""
    before = (world.image_uri(), world.executed_change_sets())
    without_deploy_role = {k: v for k, v in world.variables.items() if k != "AWS_DEPLOY_ROLE_ARN"}
    first = world.act("rerun-attempt-1", "push", variables=without_deploy_role, run_id=4242)
    assert first.returncode != 0
    assert job_ended(first, "plan (production)") == "succeeded"
    assert job_ended(first, "apply (production)") == "failed"
    assert "AWS_DEPLOY_ROLE_ARN is not set" in first.log
    assert (world.image_uri(), world.executed_change_sets()) == before
    assert sorted(p.name for p in first.artifacts.iterdir()) == ["deployer", "image", "plan"]

    second = world.act("rerun-attempt-2", "push", run_id=4242, run_attempt=2, artifacts=first.artifacts)
    ok(second, "re-run of all jobs")
    # (act echoes each step's script, so match the steps' output lines, `[job]   | …`.)
    assert not re.search(r"\|\s+::error::Failed to CreateArtifact", second.log)
    assert len(re.findall(r"\|\s+artifact \w+: replacing the one uploaded earlier in this run", second.log)) == 3
    # The role sessions name the attempt, as configure-aws-credentials' do on GitHub.
    assert [a["role-session-name"] for a in second.assumed()] == ["github-plan-4242-2", "github-apply-4242-2"]
    assert world.stack()["StackStatus"] == "UPDATE_COMPLETE"
    assert world.executed_change_sets() == before[1] + 1
    # The pull request's template change, now deployed.
    assert re.search(TARGET_GROUP_MODIFIED, change_set_summary(second))


def test_a_plan_whose_tests_fail_is_discarded(world: World):
    """plan does not wait for the tests; when a test group then fails, apply never runs
    and the discard job deletes the change set the plan made (plan role), so no
    executable change set of an untested commit stays on the stack.
    Needs `deployer discard` (contract 4, the apply branch)."""
    before = (world.image_uri(), world.executed_change_sets())
    template = world.repo.path / "cfn/app.yaml"
    text = template.read_text()
    delay = '- Key: deregistration_delay.timeout_seconds\n          Value: "20"\n'
    assert text.count(delay) == 1, "the pull request's 20 s delay is what the re-run scenario deployed"
    template.write_text(text.replace(delay, delay.replace('"20"', '"30"')))
    rules = world.repo.path / "tests/workflows/test_workflow_rules.py"
    original_rules = rules.read_text()
    rules.write_text(
        original_rules + "\n\ndef test_a_failing_rule():\n    raise AssertionError('a test group fails')\n"
    )
    world.repo.commit("cfn: a 30 s delay, with a failing workflow rule")
    try:
        run = world.act("tests-fail", "push")
    finally:
        rules.write_text(original_rules)
        world.repo.commit("tests: the failing rule removed")
    assert run.returncode != 0
    assert "a test group fails" in run.log
    assert job_ended(run, "plan (production)") == "succeeded"
    assert job_ended(run, "apply (production)") is None
    assert job_ended(run, "discard the plan (tests failed)") == "succeeded"
    assert sessions(run) == [PLAN_SESSION, DISCARD_SESSION]
    assert world.change_sets() == [], "the untested plan's change set is still on the stack"
    assert (world.image_uri(), world.executed_change_sets()) == before


@pytest.mark.parametrize(
    ("event", "missing"),
    [("push", "AWS_PLAN_ROLE_ARN"), ("pull_request", "AWS_PREVIEW_ROLE_ARN")],
)
def test_a_missing_role_variable_stops_the_plan_before_aws(world: World, event: str, missing: str):
    """The plan job's role variable unset: the job names it and stops before any AWS call,
    with no fallback to the other roles (a pull request never gets the plan role)."""
    before = (world.stack()["StackStatus"], world.image_uri(), len(world.create_change_set_calls()))
    variables = {k: v for k, v in world.variables.items() if k != missing}
    if event == "push":
        run = world.act("missing-plan-role", "push", variables=variables)
    else:
        event_payload = pull_request_event(8)
        run = world.act("missing-preview-role", event, "pr.yml", variables=variables, event_payload=event_payload)
    assert run.returncode != 0
    assert f"{missing} is not set" in run.log
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


def describe(world: World, stack_name: str) -> dict:
    return world.cfn().describe_stacks(StackName=stack_name)["Stacks"][0]


def test_a_failed_first_create_recovers_on_the_next_push(world: World):
    """A new stack whose first create fails and rolls back (ROLLBACK_COMPLETE): the next
    push plans deleting the dead stack and creating it anew, shows that in the summary, and
    apply gets it to CREATE_COMPLETE; nobody deletes anything by hand.

    The first create fails at the Cognito domain: a prefix containing a word Cognito
    reserves ("cognito") passes the template's pattern and the deployer's pre-flight
    (DescribeUserPoolDomain: nobody owns it), and Cognito, like the local AWS, refuses it
    at create, after the user pool exists. (A prefix another pool owns would also roll
    back, but the pre-flight now refuses that before any change set; so does a domain
    outside the hosted zone.) The next push has the variable fixed.
    Needs the deployer's ROLLBACK_COMPLETE recovery (issue 17 item 5, the apply branch)."""
    stack_name = "alb-app-act-first"
    variables = {
        **world.variables,
        "STACK_NAME": stack_name,
        "COGNITO_DOMAIN_PREFIX": "alb-app-act-first-cognito",
        "DOMAIN_NAME": "first.act.example.com",
    }
    world.repo.commit("a new environment's first push")
    failed = world.act("first-create-fails", "push", variables=variables)
    assert failed.returncode != 0
    assert job_ended(failed, "apply (production)") == "failed"
    assert describe(world, stack_name)["StackStatus"] == "ROLLBACK_COMPLETE"

    assert re.search(r"reserved word", failed.log), "the create failed for another reason"
    variables["COGNITO_DOMAIN_PREFIX"] = "alb-app-act-first-login"
    world.repo.commit("the next push, with COGNITO_DOMAIN_PREFIX fixed")
    run = world.act("first-create-recovers", "push", variables=variables)
    ok(run, "the push after a failed first create")
    assert job_ended(run, "apply (production)") == "succeeded"
    assert describe(world, stack_name)["StackStatus"] == "CREATE_COMPLETE"
    summary = change_set_summary(run)
    # The reviewer is told the dead stack goes, and sees what will be created.
    assert "ROLLBACK_COMPLETE" in summary and re.search(r"delete", summary, re.I), summary
    assert "| Add | " in summary and "AWS::ECS::Service" in summary


def job_spans(run) -> dict[str, list[float]]:
    """Seconds from the run's start to each job's first and last log line."""
    spans: dict[str, list[float]] = {}
    for t, line in run.stamped:
        m = re.match(r"^\[([^\]]+?)\s*\]", line)
        if m:
            span = spans.setdefault(m.group(1), [t, t])
            span[1] = t
    return {job: [round(a, 1), round(b, 1)] for job, (a, b) in spans.items()}


def test_timings_are_recorded(world: World):
    """Not an assertion on speed: writes the measured times for BENCHMARKS.md."""
    times = {}
    for name, run in world.runs.items():
        shown = run.first(CHANGE_SET_SHOWN)
        # The plan job's summary (the change set table) as act prints it: what a reviewer sees.
        summary = run.first(r"^\[deploy/(plan|preview) \([^)]*\)\s*\]\s+⚙\s+Summary - ")
        applied = run.first(r"\[deploy/apply \(production\)\s*\] ⭐ Run Set up job")
        times[name] = {
            "total_s": round(run.seconds, 1),
            "to_change_set_s": shown and round(shown, 1),
            "to_plan_summary_s": summary and round(summary, 1),
            "to_apply_start_s": applied and round(applied, 1),
            "jobs": job_spans(run),
        }
    (world.workdir / "timings.json").write_text(json.dumps(times, indent=2))
    print("act timings:", json.dumps(times))
    assert times["push-1"]["to_change_set_s"] is not None
