"""The pull-request preview comment (.github/scripts/preview_comment.py): sticky (one
comment, edited in place), readable (property changes as `path: before → after`), and
safe with hostile text from the pull request or AWS: no HTML, links, images, mentions,
references, escape sequences or secrets reach the comment."""

from __future__ import annotations

import copy
import importlib.util
import json
import re

import pytest
from act_harness import ROOT
from fake_github import FakeGitHub


def comment_module():
    spec = importlib.util.spec_from_file_location("preview_comment", ROOT / ".github/scripts/preview_comment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def detail(path, before, after, dynamic=False, recreation="Never"):
    return {"path": path, "before": before, "after": after, "dynamic": dynamic, "requires_recreation": recreation}


# A report as `deployer deploy --dry-run --output json` prints it.
REPORT = {
    "stack_name": "app",
    "has_changes": True,
    "image_uri": "1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64,
    "changes": [
        {
            "action": "Modify",
            "logical_id": "Service",
            "resource_type": "AWS::ECS::Service",
            "replacement": "False",
            "policy_action": "",
            "scope": ["Properties"],
            "details": [
                detail("/Properties/DesiredCount", "1", "2"),
                detail("/Properties/TaskDefinition", "arn:td:1", None, dynamic=True),
            ],
        },
        {
            "action": "Remove",
            "logical_id": "Pool",
            "resource_type": "AWS::Cognito::UserPool",
            "replacement": "",
            "policy_action": "Retain",
            "scope": [],
            "details": [],
        },
    ],
    "parameter_changes": [{"name": "ImageUri", "old": None, "new": "b|c", "previous_value_kept": False}],
}

# What a hostile template or resource can put in a report.
HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "x\n::error::pwned",
    "::add-mask::x",
    "<img src=x onerror=alert(1)>",
    "[link](http://evil.example)",
    "![img](http://evil.example/i.png)",
    "<http://evil.example>",
    "www.evil.example",
    "@octocat and #1 and @org/team",
    "`code` ``and`` a|pipe",
    "<!-- alb-cognito-deploy:preview -->",
    "ad\u202enimda\u200b",
]


def hostile_report() -> dict:
    report = copy.deepcopy(REPORT)
    report["changes"] = [
        {
            "action": "Modify",
            "logical_id": text,
            "resource_type": text,
            "replacement": text,
            "policy_action": "",
            "scope": ["Properties"],
            "details": [detail("/Properties/" + text, text, text)],
        }
        for text in HOSTILE
    ]
    report["parameter_changes"] = [{"name": t, "old": t, "new": t, "previous_value_kept": False} for t in HOSTILE]
    return report


def code_spans_removed(body: str) -> str:
    """The body with every code span taken out: what GitHub would render as Markdown."""
    out, i = [], 0
    while i < len(body):
        if body[i] == "`":
            fence = re.match(r"`+", body[i:]).group(0)
            end = body.find(" " + fence, i + len(fence))
            # A code span: the same fence, not followed by another backtick.
            while end != -1 and body[end + 1 + len(fence) : end + 2 + len(fence)] == "`":
                end = body.find(" " + fence, end + 1)
            assert end != -1, f"an unclosed code span at {body[i : i + 40]!r}"
            out.append("<code>")
            i = end + 1 + len(fence)
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def test_hostile_text_is_only_ever_inside_code_spans():
    pc = comment_module()
    body = pc.render(hostile_report(), "https://github.example/run/1")
    rendered = code_spans_removed(body)
    # Outside code spans: only our own Markdown (the marker, tables, <br>, the run link).
    for bad in ("<img", "](http://evil", "<http", "www.evil", "@octocat", "@org", "#1"):
        assert bad not in rendered, f"{bad!r} would be rendered: {rendered}"
    assert set(re.findall(r"<[^>]*>", rendered)) <= {pc.MARKER, "<br>", "<code>"}
    assert rendered.count(pc.MARKER) == 1 and rendered.startswith(pc.MARKER + "\n"), "PR text faked the marker"
    # Every table row keeps its five (or three) cells: no `|` or newline broke one.
    for line in body.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in (3, 5), f"a cell broke: {line}"
    # The text is still there to read, as written (no zero-width characters hide it).
    assert "@octocat and #1 and @org/team" in body and "<img src=x onerror=alert(1)>" in body
    assert "\u200b" not in body and "\u200d" not in body and "\u202e" not in body


def test_no_escape_sequence_or_workflow_command_reaches_the_comment():
    body = comment_module().render(hostile_report(), "u")
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", body), "a control character reached the comment"
    assert not any(line.lstrip().startswith("::") for line in body.splitlines())
    assert "http://evil.example\\" not in body and "]8;;" not in body


def test_backticks_cannot_close_a_code_span():
    pc = comment_module()
    assert pc.code("a`b``c") == "``` a`b``c ```"
    assert pc.code("`") == "`` ` ``"
    assert pc.cell("a|b") == "` a\\|b `"
    assert pc.code("") == ""
    assert pc.words("Remove (retained, not deleted)") == "Remove (retained, not deleted)"
    for active in ("@octocat", "#12", "GH-12", "www.evil.example"):
        assert pc.words(active).startswith("` "), active
    assert pc.words("a\u3164b") == "ab", "an invisible letter is dropped, not kept in plain text"


def test_property_changes_read_as_path_before_after():
    body = comment_module().render(REPORT, "u")
    assert "` /Properties/DesiredCount: 1 → 2 `" in body
    assert "` /Properties/TaskDefinition: arn:td:1 → (none) (may change: known only while deploying) `" in body
    assert "{'path'" not in body and '"path"' not in body, "details must not render as dicts"
    assert "| Remove (retained, not deleted) | Pool | ` AWS::Cognito::UserPool ` |" in body
    assert "| ImageUri |  | ` b\\|c ` |" in body


def test_secrets_are_masked_by_name_and_reference():
    pc = comment_module()
    report = copy.deepcopy(REPORT)
    report["changes"][0]["details"] = [
        detail("/Properties/MasterUserPassword", "old-pw-1", "new-pw-2"),
        detail("/Properties/Environment/0/Value", None, "{{resolve:secretsmanager:prod/db:SecretString:pw}}"),
        detail("/Properties/AccessTokenValidity", "60", "30"),
    ]
    report["parameter_changes"] = [
        {"name": "DbPassword", "old": "old-pw-1", "new": "new-pw-2", "previous_value_kept": False},
        {"name": "Secret", "old": "****", "new": "****", "previous_value_kept": True},
    ]
    body = pc.render(report, "u")
    assert "pw-" not in body and "resolve:secretsmanager" not in body
    assert "` /Properties/MasterUserPassword: **** → **** `" in body
    assert "` /Properties/Environment/0/Value: (none) → **** `" in body
    assert "` /Properties/AccessTokenValidity: 60 → 30 `" in body
    assert "| Secret | ` **** ` | unchanged (NoEcho, previous value kept) |" in body


def test_the_secret_name_rules_are_the_deployers():
    pc = comment_module()
    source = (ROOT / "deployer/src/redact.rs").read_text()
    for name in ("SECRET_WORDS", "NOT_SECRET_ENDINGS", "SETTINGS_ENDINGS"):
        array = re.search(rf"const {name}: \[&str; \d+\] = \[(.*?)\];", source, re.S).group(1)
        assert tuple(re.findall(r'"([^"]*)"', array)) == getattr(pc, name), name


def test_many_tag_only_rows_fold_into_one():
    pc = comment_module()
    report = copy.deepcopy(REPORT)
    report["changes"] = [
        {"action": "Modify", "logical_id": f"R{i}", "resource_type": "AWS::S3::Bucket", "scope": ["Tags"]}
        for i in range(12)
    ]
    body = pc.render(report, "u")
    assert body.count("| Modify (tags only) |") == 1 and "… and 2 more" in body and "R11" not in body


def test_the_comment_says_when_nothing_changes():
    body = comment_module().render({"stack_name": "app", "has_changes": False}, "u")
    assert "No changes" in body and "| Action |" not in body


def test_the_comment_is_created_once_then_edited_in_place(tmp_path, monkeypatch):
    pc = comment_module()
    data = copy.deepcopy(REPORT)
    report = tmp_path / "report.json"
    report.write_text(json.dumps(data))
    with FakeGitHub("t0ken") as gh:
        # A person quoting the marker, and 150 other comments (two pages).
        gh.add_comment(5, pc.MARKER + " quoted by a person", bot=False)
        for i in range(150):
            gh.add_comment(5, f"comment {i}", bot=i % 2 == 0)
        for name, value in {
            "GITHUB_TOKEN": "t0ken",
            "GITHUB_API_URL": gh.url,
            "GITHUB_REPOSITORY": "o/r",
            "PR_NUMBER": "5",
            "GITHUB_RUN_ID": "9",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }.items():
            monkeypatch.setenv(name, value)
        assert pc.main(["x", str(report)]) == 0
        ours = [c for c in gh.on_issue(5) if c["body"].startswith(pc.MARKER + "\n")]
        assert len(ours) == 1 and gh.writes() == [("POST", "/repos/o/r/issues/5/comments")]
        data["changes"][0]["action"] = "Add"
        report.write_text(json.dumps(data))
        assert pc.main(["x", str(report)]) == 0
        ours_now = [c for c in gh.on_issue(5) if c["body"].startswith(pc.MARKER + "\n")]
        assert [c["id"] for c in ours_now] == [ours[0]["id"]] and "| Add |" in ours_now[0]["body"]
        assert gh.writes()[1] == ("PATCH", f"/repos/o/r/issues/comments/{ours[0]['id']}")
        assert "| Add |" in (tmp_path / "summary.md").read_text()


def test_the_comment_script_names_what_is_missing(tmp_path, monkeypatch):
    pc = comment_module()
    report = tmp_path / "report.json"
    report.write_text("{}")
    monkeypatch.delenv("PR_NUMBER", raising=False)
    with pytest.raises(SystemExit, match="PR_NUMBER is not set"):
        pc.main(["x", str(report)])
    with pytest.raises(SystemExit, match="cannot read the deployer report"):
        pc.main(["x", str(tmp_path / "missing.json")])


def test_a_release_report_shows_a_section_per_changed_stack():
    """deploy.yaml version 2: the report has the environment's stacks; the changed ones get a
    section each (hostile text still only in code spans), the unchanged ones one line."""
    pc = comment_module()
    web = {**hostile_report(), "service": "web`<b>x</b>", "stack_name": "hello-staging-web"}
    report = {
        "application": "hello",
        "environment": "staging",
        "stacks": [
            {"service": None, "stack_name": "hello-staging", "has_changes": False},
            web,
            {"service": "public", "stack_name": "hello-staging-public", "has_changes": False},
        ],
    }
    body = pc.render(report, "u")
    c = pc.code
    assert body.startswith(f"{pc.MARKER}\n### Deploy preview for {c('hello')} {c('staging')}\n")
    assert f"#### service {c('web`<b>x</b>')}: stack {c('hello-staging-web')}" in body
    assert f"No changes to {c('hello-staging')}, {c('hello-staging-public')}." in body
    assert body.count("####") == 1
    assert "<b>" not in body.replace(c("web`<b>x</b>"), "")
    nothing = pc.render({**report, "stacks": [report["stacks"][0]]}, "u")
    assert f"leaves every stack of {c('staging')} as it is" in nothing


# --- the live preview (`deployer preview up --output json`, issue 19) -----------------

PREVIEW = {
    "pr": 7,
    "environment": "preview",
    "state": "ready",
    "services": [
        {
            "service": "web",
            "stack_name": "hello-preview-pr-7-web",
            "url": "https://pr-7.preview.example.com/",
            "mode": "express",
            "image": "1.dkr.ecr.us-east-1.amazonaws.com/hello-web-preview@sha256:" + "c" * 64,
            "state": "ready",
        }
    ],
}


def test_the_comment_shows_the_previews_url_and_state_before_the_change_sets():
    pc = comment_module()
    body = pc.render(REPORT, "u", copy.deepcopy(PREVIEW), True, "success")
    lines = body.splitlines()
    assert lines[0] == pc.MARKER
    assert lines[1] == f"### Live preview {pc.code('pr-7')}: ready"
    row = next(line for line in lines if line.startswith(f"| {pc.cell('web')} |"))
    assert f"| {pc.cell('https://pr-7.preview.example.com/')} | ready | express |" in row
    assert "hello-web-preview@sha256:" + "c" * 64 in row
    assert body.index("### Live preview") < body.index("### Deploy preview")
    # Without a preview (forks, older callers) the comment is the change sets alone.
    assert "Live preview" not in pc.render(REPORT, "u")


def test_a_failed_or_missing_preview_is_said_so():
    pc = comment_module()
    failed = copy.deepcopy(PREVIEW)
    failed["state"] = "failed"
    failed["services"][0] |= {"state": "failed", "error": "ECS deployment failed: task stopped: exit code 1"}
    failed["failure"] = "service web is not ready"
    body = pc.render(REPORT, "u", failed, True, "failure")
    assert f"Failed: {pc.code('service web is not ready')}" in body
    assert f"### Live preview {pc.code('pr-7')}: failed" in body
    assert "| failed | express |" in body and pc.code("ECS deployment failed: task stopped: exit code 1") in body
    refused = {"pr": 8, "preview": "pr-8", "state": "failed", "services": [], "failure": "already has 10 live previews"}
    body = pc.render(REPORT, "u", refused, True, "failure")
    assert f"### Live preview {pc.code('pr-8')}: failed" in body and "| Service | URL |" not in body
    assert f"Failed: {pc.code('already has 10 live previews')}" in body
    missing = pc.render(REPORT, "u", None, True, "failure")
    assert "No preview report (the preview job: failure)" in missing and "| Service | URL |" not in missing
    assert "Not run" in pc.render(REPORT, "u", None, True, "skipped")


def test_hostile_preview_values_are_only_ever_inside_code_spans():
    pc = comment_module()
    hostile = {
        "pr": 7,
        "state": "ready",
        "services": [
            {"service": t, "stack_name": t, "url": t, "mode": t, "image": t, "state": t, "reason": t} for t in HOSTILE
        ],
    }
    body = pc.render(REPORT, "u", hostile, True, "success")
    rendered = code_spans_removed(body)
    for bad in ("<img", "](http://evil", "<http", "www.evil", "@octocat", "@org", "#1"):
        assert bad not in rendered, f"{bad!r} would be rendered: {rendered}"
    assert set(re.findall(r"<[^>]*>", rendered)) <= {pc.MARKER, "<br>", "<code>"}
    assert rendered.count(pc.MARKER) == 1
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", body)
    for line in body.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            assert len(re.split(r"(?<!\\)\|", line)[1:-1]) in (3, 5), f"a cell broke: {line}"


def test_the_script_takes_the_preview_report_and_tolerates_its_absence(tmp_path, monkeypatch):
    pc = comment_module()
    report, preview = tmp_path / "report.json", tmp_path / "preview.json"
    report.write_text(json.dumps(REPORT))
    preview.write_text(json.dumps(PREVIEW))
    with FakeGitHub("t0ken") as gh:
        for name, value in {
            "GITHUB_TOKEN": "t0ken",
            "GITHUB_API_URL": gh.url,
            "GITHUB_REPOSITORY": "o/r",
            "PR_NUMBER": "7",
            "PREVIEW_RESULT": "success",
        }.items():
            monkeypatch.setenv(name, value)
        assert pc.main(["x", str(report), "--preview", str(preview)]) == 0
        assert pc.code("https://pr-7.preview.example.com/") in gh.on_issue(7)[0]["body"]
        monkeypatch.setenv("PREVIEW_RESULT", "failure")
        assert pc.main(["x", str(report), "--preview", str(tmp_path / "absent.json")]) == 0
        body = gh.on_issue(7)[0]["body"]
        assert len(gh.on_issue(7)) == 1 and "No preview report (the preview job: failure)" in body
        preview.write_text("")
        assert pc.main(["x", str(report), "--preview", str(preview)]) == 0
        assert "No preview report" in gh.on_issue(7)[0]["body"], "an empty report: the deployer printed none"
        preview.write_text("{not json")
        with pytest.raises(SystemExit, match="cannot read the preview report"):
            pc.main(["x", str(report), "--preview", str(preview)])
    assert pc.main(["x", str(report), "--preview"]) == 2
