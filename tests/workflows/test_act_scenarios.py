"""deploy.yml and pr.yml, run for real under act against the local AWS and registry.

The scenarios share one world (conftest.py) and run in this file's order:
- push → staging planned and applied → production promoted (the digests staging runs,
  nothing built or pushed) and applied: the same digest-pinned ImageUri in both;
- a second push (the app changed) moves both environments to the new digest;
- a third push adds a second service by a deploy.yaml change: its stacks are created, the
  first service's stacks are not touched;
- a docs-only push plans nothing in either environment and applies nothing;
- an older commit pushed after a newer one is refused by the plan;
- a rollback dispatch returns staging's service to the first digest; a production
  dry-run dispatch then previews promoting it (nothing executed); a production rollback
  with `rollback-to` executes it;
- the preview environment's stack is deployed by the pushes, beside staging and production;
- a pull request opened: staging previewed (preview role) and a live preview created on
  the preview environment (pull-request role, express mode) whose URL logs in through
  the login emulator; one sticky comment shows both; a push to it updates the preview in
  standard mode and edits the comment; a second pull request beyond the preview limit is
  refused before any change set; the scheduled prune keeps the open one's preview;
  closing it removes everything its preview created, resource by resource;
- an apply that failed is re-run ("Re-run all jobs": same run, second attempt);
- a staging plan whose tests fail is discarded;
- runs with a missing role variable or deploy.yaml variable stop naming it.
Each run's full log is kept under the pytest tmp dir (runs/NAME/act.log, lines stamped
with seconds since the run started).
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import urllib.parse

import pytest
import yaml
from act_harness import ROOT
from conftest import (
    CFN_PULL_REQUEST_ROLE,
    CFN_ROLE,
    DEPLOY_ROLE,
    PLAN_ROLE,
    PREVIEW_ROLE,
    PULL_REQUEST_ROLE,
    World,
    project_services,
    pull_request_event,
)
from services import behind_login

CHANGE_SET_SHOWN = r"Resource changes: none|Action\s+Logical ID\s+Type|No changes to deploy"
DIGEST_PINNED = r"@sha256:[0-9a-f]{64}$"
# What each job asks STS for.
PLAN_STAGING = (PLAN_ROLE["staging"], "2400")
APPLY_STAGING = (DEPLOY_ROLE["staging"], "5400")
DISCARD_STAGING = (PLAN_ROLE["staging"], "900")
PLAN_PRODUCTION = (PLAN_ROLE["production"], "2400")
APPLY_PRODUCTION = (DEPLOY_ROLE["production"], "5400")
PREVIEW_SESSION = (PREVIEW_ROLE, "2400")
PUSH_SESSIONS = [PLAN_STAGING, APPLY_STAGING, PLAN_PRODUCTION, APPLY_PRODUCTION]
# The preview environment's own jobs (deploy.yml) and the pull requests' previews (pr.yml).
PLAN_PREVIEW_ENV = (PLAN_ROLE["preview"], "2400")
APPLY_PREVIEW_ENV = (DEPLOY_ROLE["preview"], "5400")
PULL_REQUEST_SESSION = (PULL_REQUEST_ROLE, "2700")
PREVIEW_ENV_ROLES = {PLAN_ROLE["preview"], DEPLOY_ROLE["preview"], PULL_REQUEST_ROLE}
# The checksum step of every job that runs the deployer (deploy.yml).
DEPLOYER_CHECKED = r"✅\s+Success - Main Check the deployer against the checksum its build job output"
JOBS = ("plan (staging)", "apply (staging)", "plan (production)", "apply (production)")


def ok(run, what: str) -> None:
    assert run.returncode == 0, f"{what}: act exited {run.returncode}; last lines:\n" + "\n".join(
        run.log.splitlines()[-60:]
    )


def deployer_compiled(run) -> list[str]:
    return [line for line in run.log.splitlines() if re.search(r"Compiling (deployer|oci-push|local-auth) ", line)]


def summaries_of(run, job: str) -> str:
    """Every job summary the job wrote (act logs each as `⚙  Summary - …`)."""
    found = [s for s in run.summaries() if s]
    lines = "\n".join(run.job_lines(f"deploy/{job}"))
    return "\n---\n".join(s for s in found if s.splitlines()[0] in lines)


def sessions(run) -> list[tuple[str, str]]:
    """The staging and production sessions (and staging's dry-run role), in order."""
    return [
        (a["role-to-assume"], a["role-duration-seconds"])
        for a in run.assumed()
        if a["role-to-assume"] not in PREVIEW_ENV_ROLES
    ]


def preview_sessions(run) -> list[tuple[str, str]]:
    """The preview environment's and the pull requests' previews' sessions, in order."""
    return [
        (a["role-to-assume"], a["role-duration-seconds"])
        for a in run.assumed()
        if a["role-to-assume"] in PREVIEW_ENV_ROLES
    ]


def job_ended(run, job: str) -> str | None:
    """'succeeded' / 'failed' for a job act ran (by its display name), None if it never ran."""
    for line in run.log.splitlines():
        m = re.match(r"^\[(?:[^\]]*/)?" + re.escape(job) + r"\s*\]\s+🏁\s+Job (succeeded|failed)", line)
        if m:
            return m.group(1)
    return None


def job_log(run, job: str) -> str:
    return "\n".join(run.job_lines(f"deploy/{job}"))


def pushed(run, job: str) -> bool:
    """Whether the job pushed an image (the deployer's push progress)."""
    return bool(re.search(r"Pushed |pushing |Pushing ", job_log(run, job)))


def roles_by_stack(world: World) -> dict[str, set[str]]:
    """The CloudFormation service role each CreateChangeSet named, by stack."""
    found: dict[str, set[str]] = {}
    for call in world.create_change_set_calls():
        found.setdefault(call.get("StackName", ""), set()).add(call.get("RoleARN"))
    return found


def test_push_deploys_staging_then_promotes_the_same_digest_to_production(world: World):
    """Scenario (a) of issue 18 item 8."""
    assert world.stack("staging") is None and world.stack("production") is None
    run = world.act("push-1", "push")
    ok(run, "first push")
    for job in JOBS:
        assert job_ended(run, job) == "succeeded", job
    for environment in ("staging", "production"):
        assert world.stack(environment)["StackStatus"] == "CREATE_COMPLETE", environment
        assert world.stack(environment, "web")["StackStatus"] == "CREATE_COMPLETE", environment
    # Production runs exactly the digest staging runs: the image of the working tree under
    # test (from the build stand-in's cache: nothing compiled), pinned by digest.
    staging, production = world.image_uri("staging"), world.image_uri("production")
    assert staging == production and re.search(DIGEST_PINNED, staging), (staging, production)
    assert staging.endswith("@" + world.seeded_image_digest)
    assert "image cache hit" in run.log
    # Only staging's apply pushed; production was planned from staging's stacks (no image
    # archive downloaded, nothing built) and applied without a push.
    assert pushed(run, "apply (staging)")
    assert not pushed(run, "apply (production)") and not pushed(run, "plan (production)")
    for job in ("plan (production)", "apply (production)"):
        assert "artifact images downloaded" not in job_log(run, job), job
    assert "artifact images downloaded" in job_log(run, "plan (staging)")
    # Each environment's jobs assumed that environment's roles, in the graph's order,
    # and every change set named that environment's CloudFormation service role.
    assert sessions(run) == PUSH_SESSIONS
    for stack, roles in roles_by_stack(world).items():
        environment = next(e for e in ("production", "preview", "staging") if stack.startswith(world.stack_name(e)))
        assert roles == {CFN_ROLE[environment]}, (stack, roles)
    # The preview environment: its environment stack only (services come with pull
    # requests), planned and applied with its own roles, beside production.
    assert world.stack("preview")["StackStatus"] == "CREATE_COMPLETE"
    assert world.stack("preview", "web") is None and world.live_stacks(world.stack_name("preview", "pr-")) == []
    assert preview_sessions(run) == [PLAN_PREVIEW_ENV, APPLY_PREVIEW_ENV]
    assert job_ended(run, "apply (preview)") == "succeeded"
    assert world.all_change_sets() == []
    # The deployer came from this run's build-deployer job (under act, the cargo stand-in
    # hands over the session's build of the same sources), checked before every use.
    assert "cargo stand-in: deployer sources unchanged" in run.log
    assert not deployer_compiled(run)
    for job in JOBS:
        assert re.search(DEPLOYER_CHECKED, job_log(run, job)), f"{job} ran the deployer without checking it"
    assert world.tags("staging", "web").get("deployer:commit") == world.repo.git("rev-parse", "HEAD")


def test_second_push_moves_both_environments_to_the_new_digest(world: World):
    first = world.image_uri("staging")
    page = world.repo.path / "service/templates/page.html"
    page.write_text(page.read_text() + "\n<!-- second push: the app changed -->\n")
    world.repo.commit("app: a changed page")
    run = world.act("push-2", "push")
    ok(run, "second push")
    second = world.image_uri("staging")
    assert second != first and re.search(DIGEST_PINNED, second)
    assert second.split("@")[1] in run.log  # the digest the build job produced
    assert world.image_uri("production") == second
    assert not pushed(run, "apply (production)")
    assert sessions(run) == PUSH_SESSIONS
    world.digests = {"first": first, "second": second}


def test_a_second_service_added_to_deploy_yaml_leaves_the_first_ones_stacks_alone(world: World):
    """Scenario (c): `public` (the project's second service, no login) is added by a
    deploy.yaml change; its stacks are created in both environments, and `web`'s stacks
    see no change set at all."""
    before = {
        env: (world.image_uri(env), world.executed_change_sets(env, "web"), world.parameters(env, "web"))
        for env in ("staging", "production")
    }
    public = project_services()["public"]
    data = yaml.safe_load((world.repo.path / "deploy.yaml").read_text())
    data["services"]["public"] = public
    (world.repo.path / "deploy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    world.repo.commit("deploy.yaml: a second service, public, without login")
    run = world.act("push-add-service", "push")
    ok(run, "push adding a service")
    for env in ("staging", "production"):
        assert world.stack(env, "public")["StackStatus"] == "CREATE_COMPLETE", env
        assert world.parameters(env, "public")["Login"] == "none"
        # web's stack: not one change set executed, the same parameters (its image, its
        # rule priorities: the new service took other slots).
        assert (
            world.image_uri(env),
            world.executed_change_sets(env, "web"),
            world.parameters(env, "web"),
        ) == before[env], env
    # The same image (same Dockerfile and context): one archive, the same digest in both.
    assert world.image_uri("staging", "public") == world.image_uri("production", "public")
    assert world.image_uri("staging", "public").split("@")[1] == world.image_uri("staging").split("@")[1]
    web, public_ = world.parameters("staging", "web"), world.parameters("staging", "public")
    assert {web["ApiRulePriority"], web["AppRulePriority"]}.isdisjoint(
        {public_["ApiRulePriority"], public_["AppRulePriority"]}
    )


def test_a_docs_only_push_plans_no_change_and_applies_nothing(world: World):
    before = {env: world.executed_change_sets(env, "web") for env in ("staging", "production")}
    (world.repo.path / "NOTES.md").write_text("A docs-only push.\n")
    world.repo.commit("docs: notes")
    run = world.act("push-docs", "push")
    ok(run, "docs-only push")
    assert "image cache hit" in run.log
    assert job_ended(run, "plan (staging)") == "succeeded"
    assert job_ended(run, "apply (staging)") is None, "apply ran (and would have asked for approval)"
    # Staging had nothing to apply; production is still planned (it could lag behind), and finds nothing.
    assert job_ended(run, "plan (production)") == "succeeded"
    assert job_ended(run, "apply (production)") is None
    assert sessions(run) == [PLAN_STAGING, PLAN_PRODUCTION]
    assert preview_sessions(run) == [PLAN_PREVIEW_ENV] and job_ended(run, "apply (preview)") is None
    assert {env: world.executed_change_sets(env, "web") for env in before} == before
    assert world.all_change_sets() == []


def test_an_older_commit_is_refused_after_a_newer_one_deployed(world: World):
    """A re-run of an older push (its tests finishing late): the plan refuses it."""
    newest = world.repo.git("rev-parse", "HEAD")
    recorded = world.tags("staging", "web")["deployer:commit"]
    older = world.repo.git("rev-parse", "HEAD~3")  # before the second push's app change
    before = (world.image_uri("staging"), world.executed_change_sets("staging", "web"))
    world.repo.git("checkout", "-q", "-B", "main", older)
    try:
        run = world.act("push-older", "push")
    finally:
        world.repo.git("checkout", "-q", "-B", "main", newest)
    assert run.returncode != 0
    plan_lines = job_log(run, "plan (staging)")
    assert older in plan_lines and recorded in plan_lines, plan_lines[-3000:]
    assert job_ended(run, "apply (staging)") is None and job_ended(run, "plan (production)") is None
    assert (world.image_uri("staging"), world.executed_change_sets("staging", "web")) == before
    assert world.all_change_sets() == []


def test_a_rollback_dispatch_returns_the_service_to_the_first_digest(world: World):
    """Scenario (b): after two pushes, `rollback-service: web` on staging plans web's
    previous image (from its task definition revisions) and applies it; nothing is built
    into the plan or pushed, production is untouched."""
    first, second = world.digests["first"], world.digests["second"]
    assert world.image_uri("staging") == second
    run = world.act(
        "rollback-staging",
        "workflow_dispatch",
        inputs={"environment": "staging", "rollback-service": "web"},
    )
    ok(run, "rollback dispatch")
    assert world.image_uri("staging") == first
    assert world.image_uri("production") == second
    assert sessions(run) == [PLAN_STAGING, APPLY_STAGING]
    assert job_ended(run, "plan (production)") is None
    assert not pushed(run, "apply (staging)")
    assert world.all_change_sets() == []


def test_a_production_dry_run_dispatch_previews_the_promotion_with_the_plan_role(world: World):
    """Staging now runs the first digest, production the second: promoting previews that
    change, executes nothing, and uses production's plan role only."""
    first, second = world.digests["first"], world.digests["second"]
    executed = world.executed_change_sets("production", "web")
    run = world.act("dispatch-dry-run", "workflow_dispatch", inputs={"environment": "production", "dry-run": "true"})
    ok(run, "production dry-run dispatch")
    assert sessions(run) == [PLAN_PRODUCTION]
    assert job_ended(run, "apply (production)") is None and job_ended(run, "preview (staging)") is None
    assert "promote" in job_log(run, "preview (production)")
    assert first.split("@")[1] in job_log(run, "preview (production)"), "the preview does not show the digest"
    assert world.image_uri("production") == second
    assert world.executed_change_sets("production", "web") == executed
    assert world.all_change_sets() == []


def test_a_production_rollback_to_a_digest(world: World):
    first = world.digests["first"]
    digest = first.split("@")[1]
    run = world.act(
        "rollback-production",
        "workflow_dispatch",
        inputs={"environment": "production", "rollback-service": "web", "rollback-to": digest},
    )
    ok(run, "production rollback to a digest")
    assert world.image_uri("production") == first
    assert sessions(run) == [PLAN_PRODUCTION, APPLY_PRODUCTION]
    assert job_ended(run, "plan (staging)") is None


def service_template_with_delay(world: World, old: str, new: str) -> None:
    """A template change (the app unchanged: same image, nothing to compile)."""
    template = world.repo.path / "cfn/service.yaml"
    text = template.read_text()
    delay = f'- Key: deregistration_delay.timeout_seconds\n          Value: "{old}"\n'
    assert text.count(delay) == 1, "cfn/service.yaml's target group deregistration delay moved"
    template.write_text(text.replace(delay, delay.replace(f'"{old}"', f'"{new}"')))


def staging_and_production_change_sets(world: World) -> list[dict[str, str]]:
    """CreateChangeSet calls on staging's and production's stacks (a push also plans the
    preview environment's stack, with its own role, beside them)."""
    preview = world.stack_name("preview")
    return [c for c in world.create_change_set_calls() if not c.get("StackName", "").startswith(preview)]


def preview_report(run) -> dict:
    """What `deployer preview up --output json` printed in the run's preview job."""
    return json.loads((run.artifacts / "pull-request-preview/preview-report.json").read_text())


def preview_calls(world: World, action: str, pr: int) -> list[dict[str, str]]:
    """The CloudFormation requests `action` made on pull request pr's preview stacks."""
    prefix = world.stack_name("preview", f"pr-{pr}-")
    # By name, or by the stack's id (arn:…:stack/NAME/UUID), as DeleteStack is called.
    return [
        c
        for c in world.calls(action)
        if c.get("StackName", "").startswith(prefix) or f":stack/{prefix}" in c.get("StackName", "")
    ]


def service_binary() -> str:
    """The service the image stand-in compiled (static, in the project's target dir): the
    program every preview image holds."""
    host = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    triple = re.search(r"^host: (\S+)$", host, re.M).group(1)
    return str(ROOT / "target" / triple / "release/service")


def log_in(port: int, host: str, username: str) -> dict:
    """A browser's login on `host` through the emulator on `port` (names resolved to
    127.0.0.1 as a hosts file would): the anonymous request is sent to the login form,
    the form back to the host's /oauth2/idpresponse, which sets the session cookie; then
    the service's /api/me with it. The cookie is `Secure`, as the ALB's: sent by hand."""

    def request(method: str, url: str, body: str | None = None, cookie: str = ""):
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Host": parts.netloc}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if cookie:
            headers["Cookie"] = cookie
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
        response = conn.getresponse()
        data = response.read().decode()
        conn.close()
        return response, data

    origin = f"http://{host}:{port}"
    first, _ = request("GET", f"{origin}/")
    assert first.status == 302, f"an anonymous request was not sent to log in: {first.status}"
    login = urllib.parse.urljoin(f"{origin}/", first.getheader("Location"))
    page, html = request("GET", login)
    state = re.search(r'name="state"[^>]*value="([^"]*)"', html)
    assert page.status == 200 and state, "no login form"
    form = urllib.parse.urlencode({"username": username, "email": f"{username}@example.com", "state": state.group(1)})
    submitted, _ = request("POST", f"http://127.0.0.1:{port}/_alb/login", form)
    callback = submitted.getheader("Location")
    assert submitted.status in (302, 303) and urllib.parse.urlsplit(callback).path == "/oauth2/idpresponse", callback
    answer, _ = request("GET", callback)
    cookies = [h.split(";", 1)[0] for k, h in answer.getheaders() if k.lower() == "set-cookie"]
    session = "; ".join(c for c in cookies if c.startswith("AWSELBAuthSessionCookie-"))
    assert session, f"the callback on {host} set no session cookie"
    me, data = request("GET", f"{origin}/api/me", cookie=session)
    assert me.status == 200, (me.status, data)
    return json.loads(data)


def test_a_pull_request_gets_a_staging_preview_and_a_live_preview_that_logs_in(world: World):
    """Opened: staging previewed (the preview role, nothing executed) and a live preview
    created on the preview environment (the pull-request role, express mode, every
    service ready), its URL logging in through the login emulator; one sticky comment
    shows both. Then a push to it: the same comment edited, the preview updated in
    standard mode."""
    before = (world.image_uri("staging"), world.executed_change_sets("staging", "web"))
    world.preview_baseline = world.preview_resources()
    service_template_with_delay(world, "10", "20")
    world.repo.commit("cfn: a longer deregistration delay (proposed in a pull request)")
    # Untrusted pull-request text that would run a command if a workflow ever pasted it
    # into a script (`${{ github.head_ref }}` in a run:); zizmor forbids that statically.
    injected = world.workdir / "injected"
    command = f"$(touch${{IFS}}{injected})"
    event = pull_request_event(7, head_ref=f"feature/{command}", title=f"`{command}` ${{{{ 1 }}}}", action="opened")
    world.github.pulls[7] = "open"
    run = world.act("pr-1", "pull_request", workflow="pr.yml", event_payload=event)
    ok(run, "pull request opened")
    assert (world.image_uri("staging"), world.executed_change_sets("staging", "web")) == before
    assert world.all_change_sets() == [], "a preview left a change set behind"
    # Staging: the preview role (by the event), never a plan role. The live preview: the
    # pull-request role, nothing else; no job of the preview environment's own.
    assert sessions(run) == [PREVIEW_SESSION]
    assert preview_sessions(run) == [PULL_REQUEST_SESSION]
    assert job_ended(run, "apply (staging)") is None and job_ended(run, "plan (production)") is None
    assert "deregistration_delay" in run.log or "TargetGroup" in run.log
    assert re.search(DEPLOYER_CHECKED, "\n".join(run.job_lines("pull request/preview (pr-7)")))
    # The preview: one stack per service, created in express mode, ready, on its own host.
    services = world.services()
    stacks = [world.stack_name("preview", f"pr-7-{s}") for s in services]
    assert world.live_stacks(world.stack_name("preview", "pr-7-")) == stacks
    report = preview_report(run)
    by_service = {s["service"]: s for s in report["services"]}
    assert sorted(by_service) == services
    for service, stack in zip(services, stacks, strict=True):
        described = world.cfn().describe_stacks(StackName=stack)["Stacks"][0]
        assert described["StackStatus"] == "CREATE_COMPLETE", stack
        assert world.deployment_mode(stack) == "EXPRESS", stack
        assert by_service[service]["mode"] == "express" and by_service[service]["state"] == "ready"
        assert by_service[service]["url"] == f"https://pr-7-{service}.preview.example.com/"
        assert {"Key": "deployer:preview", "Value": "pr-7"} in described["Tags"]
    created = preview_calls(world, "CreateChangeSet", 7)
    assert {c["ChangeSetType"] for c in created} == {"CREATE"}
    # Created with the previews' own service role, never the environment's.
    assert all(
        c.get("DeploymentConfig.Mode") == "EXPRESS" and c.get("RoleARN") == CFN_PULL_REQUEST_ROLE for c in created
    )
    grown = world.preview_resources()
    for kind, baseline in world.preview_baseline.items():
        assert grown[kind] > baseline, f"the preview added no {kind}"
    # The sticky comment: the live preview's URLs and state, and staging's change sets.
    comments = world.github.on_issue(7)
    assert len(comments) == 1 and world.github.writes() == [("POST", "/repos/example-org/alb-app/issues/7/comments")]
    body = comments[0]["body"]
    assert body.startswith("<!-- alb-cognito-deploy:preview -->\n### Live preview ` pr-7 `: ready"), body[:200]
    assert "` https://pr-7-web.preview.example.com/ ` | ready | express |" in body
    assert "### Deploy preview" in body
    assert not injected.exists(), "pull-request text ran as a command"
    first_id = comments[0]["id"]

    # The preview's URL logs in: its user pool client has exactly that host's callback,
    # and the service behind the login emulator (as on the load balancer, with that
    # client's id) sees the user.
    host = "pr-7-web.preview.example.com"
    client_id = world.resources(world.stack_name("preview", "pr-7-web"))["AWS::Cognito::UserPoolClient"]
    client = world.client("cognito-idp").describe_user_pool_client(
        UserPoolId=world.outputs("preview")["UserPoolId"], ClientId=client_id
    )["UserPoolClient"]
    assert f"https://{host}/oauth2/idpresponse" in client["CallbackURLs"]
    deployer = world.workdir / "bin/deployer"
    with behind_login(deployer, service_binary(), world.workdir / "login", host, client_id) as port:
        me = log_in(port, host, "reviewer")
    assert me["username"] == "reviewer", me

    # A push to the pull request (a task definition change): the same comment edited in
    # place, the preview updated in standard mode (express would leave the ECS service on
    # the old task definition, cloudformation-coverage-roadmap #2538).
    template = world.repo.path / "cfn/service.yaml"
    region = "            - Name: AWS_REGION\n              Value: !Ref AWS::Region\n"
    assert template.read_text().count(region) == 1, "cfn/service.yaml's container environment moved"
    template.write_text(
        template.read_text().replace(region, region + '            - Name: PREVIEW_PUSH\n              Value: "2"\n')
    )
    world.repo.commit("cfn: a container variable (a second push to the pull request)")
    run = world.act("pr-2", "pull_request", workflow="pr.yml", event_payload={**event, "action": "synchronize"})
    ok(run, "pull request, second push")
    comments = world.github.on_issue(7)
    assert [c["id"] for c in comments] == [first_id]
    assert world.github.writes()[1:] == [("PATCH", f"/repos/example-org/alb-app/issues/comments/{first_id}")]
    assert all(r["authorized"] for r in world.github.requests)
    report = preview_report(run)
    assert {s["mode"] for s in report["services"]} == {"standard"} and report["state"] == "ready"
    updates = preview_calls(world, "CreateChangeSet", 7)[len(created) :]
    assert updates and {c["ChangeSetType"] for c in updates} == {"UPDATE"}
    assert {c.get("RoleARN") for c in updates} == {CFN_PULL_REQUEST_ROLE}
    assert not any(c.get("DeploymentConfig.Mode") == "EXPRESS" for c in updates)
    ecs = world.client("ecs")
    for service in services:
        stack = world.stack_name("preview", f"pr-7-{service}")
        assert world.cfn().describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
        resources = world.resources(stack)
        task, arn = resources["AWS::ECS::TaskDefinition"], resources["AWS::ECS::Service"]
        running = ecs.describe_services(cluster=world.outputs("preview")["ClusterName"], services=[arn])["services"][0]
        assert running["taskDefinition"] == task, "the ECS service is not on the stack's new task definition"
        environment = ecs.describe_task_definition(taskDefinition=task)["taskDefinition"]["containerDefinitions"][0]
        assert {"name": "PREVIEW_PUSH", "value": "2"} in environment["environment"]
    assert "| standard |" in comments[0]["body"]
    assert world.all_change_sets() == []


def test_a_pull_request_beyond_the_preview_limit_is_refused(world: World):
    """The preview environment allows one live preview here (previews.max: 1 in the pull
    request's deploy.yaml): pull request 8's preview is refused with the message, before
    any change set; pull request 7's stays; the comment says the preview failed."""
    before = world.preview_resources()
    path = world.repo.path / "deploy.yaml"
    original = path.read_text()
    config = yaml.safe_load(original)
    config["environments"]["preview"]["previews"]["max"] = 1
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    world.repo.commit("deploy.yaml: one live preview at most")
    world.github.pulls[8] = "open"
    try:
        event = pull_request_event(8, action="opened")
        run = world.act("pr-limit", "pull_request", workflow="pr.yml", event_payload=event)
    finally:
        path.write_text(original)
        world.repo.commit("deploy.yaml: the preview limit back")
    assert run.returncode != 0
    assert job_ended(run, "preview (pr-8)") == "failed"
    log = "\n".join(run.job_lines("pull request/preview (pr-8)"))
    assert "already has 1 live previews (pr-7)" in log and "environments.preview.previews.max" in log, log[-3000:]
    assert preview_calls(world, "CreateChangeSet", 8) == []
    assert world.live_stacks(world.stack_name("preview", "pr-8-")) == []
    assert world.preview_resources() == before
    # The deployer reports even a preview it refused (state failed, the reason).
    assert preview_report(run)["state"] == "failed"
    body = world.github.on_issue(8)[0]["body"]
    assert "### Live preview ` pr-8 `: failed" in body and "already has 1 live previews (pr-7)" in body, body[:800]


def test_the_scheduled_prune_keeps_open_pull_requests_previews(world: World):
    """preview-prune.yml (dispatched; the schedule runs the same on main): the open pull
    requests from the GitHub API (7 open, 8 and 9 closed), `prune --keep 7 --older-than
    7d` with the pull-request role: pull request 7's fresh preview stays."""
    world.github.pulls |= {7: "open", 8: "closed", 9: "closed"}
    stacks = world.live_stacks(world.stack_name("preview", "pr-7-"))
    run = world.act("prune", "workflow_dispatch", workflow="preview-prune.yml")
    ok(run, "preview prune")
    assert job_ended(run, "prune previews") == "succeeded"
    assert preview_sessions(run) == [PULL_REQUEST_SESSION] and sessions(run) == []
    assert re.search(r"open pull requests: 7; previews older than 7d go too", run.log)
    assert ("GET", "/repos/example-org/alb-app/pulls") in [(r["method"], r["path"]) for r in world.github.requests]
    assert world.live_stacks(world.stack_name("preview", "pr-7-")) == stacks and stacks
    assert preview_calls(world, "DeleteStack", 7) == []


def test_closing_the_pull_request_removes_its_preview_resource_by_resource(world: World):
    """Closed: no tests and no staging preview, only `preview down` (with a deployer built
    in that run): every stack deleted in express mode, and nothing the preview created
    is left: stacks, user pool clients, listener rules, Route 53 records, ECS services,
    target groups are exactly what they were before the pull request."""
    world.github.pulls[7] = "closed"
    event = pull_request_event(7, action="closed")
    run = world.act("pr-closed", "pull_request", workflow="pr.yml", event_payload=event)
    ok(run, "pull request closed")
    assert job_ended(run, "remove the preview (pr-7)") == "succeeded"
    for job in ("preview (pr-7)", "preview comment", "test (40-workflows)", "preview (staging)"):
        assert job_ended(run, job) is None, f"{job} ran for a closed pull request"
    assert sessions(run) == [] and preview_sessions(run) == [PULL_REQUEST_SESSION]
    assert re.search(DEPLOYER_CHECKED, "\n".join(run.job_lines("pull request/remove the preview (pr-7)")))
    deletes = preview_calls(world, "DeleteStack", 7)
    assert deletes and all(c.get("DeploymentConfig.Mode") == "EXPRESS" for c in deletes)
    after = world.preview_resources()
    for kind, baseline in world.preview_baseline.items():
        assert after[kind] == baseline, f"{kind} left behind: {sorted(after[kind] - baseline)}"
    # Everything else stands: the preview environment, staging and production.
    for environment in ("preview", "staging", "production"):
        assert world.stack(environment)["StackStatus"].endswith("_COMPLETE"), environment


def test_a_failed_apply_is_rerun_with_all_jobs(world: World):
    """Attempt 1: staging's plan is made and uploaded, then its apply fails (here: its
    role variable is unset, as an expired approval or a transient error would fail it).
    Attempt 2 is GitHub's "Re-run all jobs": the same run id, run_attempt 2, the first
    attempt's artifacts still there; every upload replaces its name (overwrite: true),
    the plans are made afresh and both environments are applied."""
    before = world.executed_change_sets("staging", "web")
    without = {k: v for k, v in world.variables.items() if k != "AWS_DEPLOY_ROLE_ARN_STAGING"}
    first = world.act("rerun-attempt-1", "push", variables=without, run_id=4242)
    assert first.returncode != 0
    assert job_ended(first, "plan (staging)") == "succeeded"
    assert job_ended(first, "apply (staging)") == "failed"
    assert job_ended(first, "plan (production)") is None
    assert "AWS_DEPLOY_ROLE_ARN_STAGING is not set" in first.log
    assert world.executed_change_sets("staging", "web") == before
    assert sorted(p.name for p in first.artifacts.iterdir()) == ["deployer", "images", "plan-staging"]

    second = world.act("rerun-attempt-2", "push", run_id=4242, run_attempt=2, artifacts=first.artifacts)
    ok(second, "re-run of all jobs")
    assert not re.search(r"\|\s+::error::Failed to CreateArtifact", second.log)
    replaced = re.findall(r"\|\s+artifact ([\w-]+): replacing the one uploaded earlier in this run", second.log)
    assert sorted(replaced) == ["deployer", "images", "plan-staging"], replaced
    assert [a["role-session-name"] for a in second.assumed() if a["role-to-assume"] not in PREVIEW_ENV_ROLES] == [
        "github-plan-staging-4242-2",
        "github-apply-staging-4242-2",
        "github-plan-production-4242-2",
        "github-apply-production-4242-2",
    ]
    # The pull request's template change and the app's second image, now deployed.
    assert world.executed_change_sets("staging", "web") > before
    assert world.image_uri("staging") == world.image_uri("production") == world.digests["second"]


def test_a_staging_plan_whose_tests_fail_is_discarded(world: World):
    """plan-staging does not wait for the tests; when a test group then fails, nothing is
    applied and discard-staging deletes the change sets the plan made (plan role);
    production is not planned at all."""
    before = (world.image_uri("staging"), world.executed_change_sets("staging", "web"))
    service_template_with_delay(world, "20", "30")
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
    assert job_ended(run, "plan (staging)") == "succeeded"
    assert job_ended(run, "apply (staging)") is None
    assert job_ended(run, "discard the staging plan (tests failed)") == "succeeded"
    assert job_ended(run, "plan (production)") is None
    assert sessions(run) == [PLAN_STAGING, DISCARD_STAGING]
    assert world.all_change_sets() == [], "the untested plan's change sets are still on the stacks"
    assert (world.image_uri("staging"), world.executed_change_sets("staging", "web")) == before


@pytest.mark.parametrize(
    ("event", "missing"),
    [("push", "AWS_PLAN_ROLE_ARN_STAGING"), ("pull_request", "AWS_PREVIEW_ROLE_ARN")],
)
def test_a_missing_role_variable_stops_the_plan_before_aws(world: World, event: str, missing: str):
    """The plan job's role variable unset: the job names it and stops before any AWS call,
    with no fallback to another role (a pull request never gets a plan role)."""
    before = (world.image_uri("staging"), len(staging_and_production_change_sets(world)))
    variables = {k: v for k, v in world.variables.items() if k != missing}
    if event == "push":
        run = world.act("missing-plan-role", "push", variables=variables)
    else:
        event_payload = pull_request_event(8)
        run = world.act("missing-preview-role", event, "pr.yml", variables=variables, event_payload=event_payload)
    assert run.returncode != 0
    # The job stopped at its variable check, naming the variable. (act runs plan-staging
    # and plan-preview side by side here and has been seen to drop the output of a step
    # that fails within milliseconds: the step's failure is the check, the name is
    # checked whenever act printed it.)
    staging = [line for line in run.log.splitlines() if re.match(r"^\[(?:[^\]]*/)?(?:plan|preview) \(staging\)", line)]
    failed_step = re.search(r"❌\s+Failure - Main (.*?) \[", "\n".join(staging))
    assert failed_step and failed_step.group(1) == "Check the variables this job itself needs", failed_step
    assert f"{missing} is not set" in run.log or not any("❗" in line for line in staging)
    # (A push still plans the preview environment's stack, with its own role.)
    assert sessions(run) == [], "the job reached AWS despite the missing variable"
    assert preview_sessions(run) in ([], [PLAN_PREVIEW_ENV])
    assert job_ended(run, "apply (staging)") is None and job_ended(run, "plan (production)") is None
    assert (world.image_uri("staging"), len(staging_and_production_change_sets(world))) == before


def test_a_missing_deploy_yaml_variable_is_named_by_the_deployer(world: World):
    """No HOSTED_ZONE_ID: deploy.yaml's staging environment reads it; the deployer names
    the variable and the environment, before any change set."""
    before = (world.image_uri("staging"), len(staging_and_production_change_sets(world)))
    variables = {k: v for k, v in world.variables.items() if k != "HOSTED_ZONE_ID"}
    run = world.act("missing-variable", "push", variables=variables)
    assert run.returncode != 0
    plan_lines = job_log(run, "plan (staging)")
    assert "HOSTED_ZONE_ID" in plan_lines and "staging" in plan_lines
    assert job_ended(run, "apply (staging)") is None
    assert (world.image_uri("staging"), len(staging_and_production_change_sets(world))) == before


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
        times[name] = {
            "total_s": round(run.seconds, 1),
            "to_change_set_s": shown and round(shown, 1),
            "to_apply_staging_s": (t := run.first(r"\[deploy/apply \(staging\)\s*\] ⭐ Run Set up job"))
            and round(t, 1),
            "to_apply_production_s": (t := run.first(r"\[deploy/apply \(production\)\s*\] ⭐ Run Set up job"))
            and round(t, 1),
            "jobs": job_spans(run),
        }
    (world.workdir / "timings.json").write_text(json.dumps(times, indent=2))
    print("act timings:", json.dumps(times))
    assert times, "no act run was recorded"
