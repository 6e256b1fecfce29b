#!/usr/bin/env python3
"""Posts the deploy preview of a pull request as ONE sticky comment (pr.yml, job `comment`).

    preview_comment.py REPORT.json [--preview PREVIEW.json]

REPORT.json is what `deployer deploy --dry-run --output json` printed: a single-stack
report, or a release report (deploy.yaml version 2: `application`, `environment` and
`stacks`, the environment stack first, then one per service), shown as one section per
stack with changes. PREVIEW.json is what `deployer preview up --output json` printed (the
pull request's live preview: per service its URL, state, mode and image), shown first;
a missing file is reported as such, with the preview job's result (PREVIEW_RESULT). The
comment is
found again by a hidden marker on its first line and edited in place, so a pull request
has one preview comment, updated on every push, instead of one per push. The same
Markdown goes to the job summary.

Environment (all set by the runner or the workflow; nothing else is read):
  GITHUB_TOKEN       the job's token (needs `pull-requests: write`)
  GITHUB_API_URL     e.g. https://api.github.com
  GITHUB_REPOSITORY  OWNER/REPO
  PR_NUMBER          the pull request's number
  GITHUB_SERVER_URL, GITHUB_RUN_ID   for the link to the run
  GITHUB_STEP_SUMMARY                optional: where to append the Markdown
  PREVIEW_RESULT     optional: the preview job's result (success, failure, skipped...)

Untrusted input: the report carries text from the pull request and from AWS (logical
ids, property values, parameter values, reasons). Every such value is cleaned of
control characters, escape sequences and invisible format characters, and is written
as a code span whose backtick fence no value can close: CommonMark renders a code
span's content literally (no HTML, links, images or autolinks), GitHub links no
@mention or #reference inside `code`, and a `|` is escaped with a backslash, which a
GFM table removes again inside the span. The text stays visible as written (a zero-width
joiner would hide it). The deployer has already masked secret values in the report
(deployer/src/redact.rs); the same rules are applied here once more, since this
comment is the most widely read output. The body reaches the API only as JSON data,
never as shell text. Standard library only: runs on any runner's python3.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request

MARKER = "<!-- alb-cognito-deploy:preview -->"
# GitHub refuses comments over 65,536 characters; leave room for the header and footer.
MAX_BODY = 60_000
PAGE = 100
# As the deployer's job summary: at most this many rows, details per row, characters
# per value.
MAX_ROWS = 50
MAX_DETAILS = 10
MAX_VALUE = 120
MASK = "****"

# Escape sequences, removed whole: CSI (7- and 8-bit), OSC/DCS/SOS/PM/APC strings up to
# their terminator (or the next control character), and other ESC sequences.
_ESCAPES = re.compile(
    r"\x1b\[[\x20-\x3f]*[\x40-\x7e]?"
    r"|\x9b[\x20-\x3f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x00-\x1f\x7f-\x9f]*(?:\x07|\x9c|\x1b\\?)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
_BREAKS = re.compile(r"\r\n|[\r\n\t\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidi controls, zero-width and other invisible format characters: they reorder or hide
# what a reviewer reads.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e007f]"
)

# deployer/src/redact.rs SECRET_WORDS, NOT_SECRET_ENDINGS, SETTINGS_ENDINGS (a test
# keeps them equal).
SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "privatekey",
    "apikey",
    "credential",
    "signingkey",
)
NOT_SECRET_ENDINGS = (
    "arn",
    "arns",
    "name",
    "id",
    "ids",
    "validity",
    "units",
    "length",
    "policy",
    "type",
    "revocation",
    "days",
)
SETTINGS_ENDINGS = ("units", "validity", "policy")


def clean(value: object) -> str:
    """One line of plain text: no escape sequences, controls (shown as U+FFFD) or invisible characters."""
    text = "" if value is None else str(value)
    text = _ESCAPES.sub("", text)
    text = _BREAKS.sub(" ", text)
    text = _CONTROLS.sub("\ufffd", text)
    return _INVISIBLE.sub("", text)


def code(value: object) -> str:
    """`value` as an inline code span no backtick in it can close (empty for empty text)."""
    text = clean(value)
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    # One space of padding each side, which CommonMark strips again: a value starting or
    # ending with a backtick cannot join the fence.
    return f"{fence} {text} {fence}"


def cell(value: object) -> str:
    """A table cell: a code span with `|` escaped (GFM unescapes it before parsing the span)."""
    return code(value).replace("|", "\\|")


def words(value: object) -> str:
    """Plain words stay plain (Modify, Remove (retained, not deleted)); anything else is a cell.

    Plain: letters, spaces and `-,;()`, no digits (GitHub links `GH-12` and commit hashes by themselves).
    """
    text = clean(value)
    return text if all(c.isalpha() or c in " ,;()-" for c in text) else cell(text)


def is_secret_name(path: str) -> bool:
    """A property path or parameter name that names a secret (see deployer/src/redact.rs)."""
    segments = [re.sub(r"[^a-z0-9]", "", s.lower()) for s in re.split(r"[/.]", path or "") if s and not s.isdigit()]
    if not segments:
        return False
    leaf, parents = segments[-1], segments[:-1]
    return (
        any(w in leaf for w in SECRET_WORDS)
        and not leaf.endswith(NOT_SECRET_ENDINGS)
        and not any(p.endswith(SETTINGS_ENDINGS) for p in parents)
    )


def is_secret_reference(value: object) -> bool:
    text = str(value or "").lower()
    return "{{resolve:secretsmanager:" in text or "{{resolve:ssm-secure:" in text


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def detail_line(detail: object) -> str:
    """`path: before → after (notes)`, as the deployer's own table shows a property change."""
    if not isinstance(detail, dict):
        return clean(detail)
    path = clean(detail.get("path"))
    before, after = detail.get("before"), detail.get("after")
    if is_secret_name(path) or is_secret_reference(before) or is_secret_reference(after):
        before, after = (None if v is None else MASK for v in (before, after))
    line = path
    if before is not None or after is not None:
        shown = ["(none)" if v is None else cut(clean(v), MAX_VALUE) for v in (before, after)]
        line += f": {shown[0]} → {shown[1]}"
    notes = []
    if detail.get("dynamic"):
        notes.append("may change: known only while deploying")
    notes += {"Always": ["replaces the resource"], "Conditionally": ["may replace the resource"]}.get(
        detail.get("requires_recreation"), []
    )
    return line + (f" ({'; '.join(notes)})" if notes else "")


def effect(change: dict) -> str:
    """The action as people should read it: a Remove whose DeletionPolicy keeps the resource is no deletion."""
    action, policy = change.get("action") or "", change.get("policy_action") or ""
    qualifier = {
        ("Remove", "Retain"): "retained, not deleted",
        ("Remove", "Snapshot"): "snapshot, then deleted",
    }.get((action, policy)) or {
        "ReplaceAndRetain": "replaced; the old one is retained",
        "ReplaceAndSnapshot": "replaced; the old one is snapshotted, then deleted",
    }.get(policy)
    return f"{action} ({qualifier})" if qualifier else action


def is_tags_only(change: dict) -> bool:
    scope = change.get("scope") or []
    return change.get("action") == "Modify" and bool(scope) and all(s == "Tags" for s in scope)


def parameter_row(p: dict) -> str:
    name = p.get("name") or ""
    if p.get("previous_value_kept"):
        return f"| {words(name)} | {cell(MASK)} | unchanged (NoEcho, previous value kept) |"
    old, new = p.get("old"), p.get("new")
    if is_secret_name(name) or is_secret_reference(old) or is_secret_reference(new):
        old, new = (None if v is None else MASK for v in (old, new))
    return f"| {words(name)} | {words(old)} | {words(new)} |"


def change_rows(changes: list) -> list[str]:
    rows = ["| Action | Logical ID | Type | Replacement | Changes |", "|---|---|---|---|---|"]
    tags_only = [c for c in changes if isinstance(c, dict) and is_tags_only(c)]
    others = [c for c in changes if isinstance(c, dict) and not is_tags_only(c)]
    if tags_only:
        names = ", ".join(clean(c.get("logical_id")) for c in tags_only[:10])
        if len(tags_only) > 10:
            names += f", … and {len(tags_only) - 10} more"
        rows.append(f"| Modify (tags only) | {cell(names)} |  |  | stack tags are copied to every taggable resource |")
    for c in others[:MAX_ROWS]:
        details = c.get("details") or []
        lines = [cell(detail_line(d)) for d in details[:MAX_DETAILS]]
        if len(details) > MAX_DETAILS:
            lines.append(f"… and {len(details) - MAX_DETAILS} more")
        rows.append(
            f"| {words(effect(c))} | {words(c.get('logical_id'))} | {words(c.get('resource_type'))} | "
            f"{words(c.get('replacement'))} | {'<br>'.join(lines)} |"
        )
    if len(others) > MAX_ROWS:
        rows += ["", f"… and {len(others) - MAX_ROWS} more resource changes (all of them: the run's job summary)"]
    return rows


def stack_section(report: dict, heading: str) -> list[str]:
    """One stack's preview: a heading, what merging would do, its parameter and resource tables."""
    stack = code(report.get("stack_name") or "?")
    changes = report.get("changes") or []
    params = report.get("parameter_changes") or []
    lines = [f"{heading} {stack}", ""]
    if not report.get("has_changes"):
        lines.append(f"No changes: merging this pull request leaves stack {stack} as it is.")
        return lines
    lines.append(
        f"Merging this pull request would apply {len(changes)} resource change(s) to stack {stack}. "
        "Nothing was executed: the change set was created, read and deleted."
    )
    if report.get("image_uri"):
        lines += ["", f"Image: {code(report['image_uri'])}"]
    if params:
        lines += ["", "| Parameter | Old | New |", "|---|---|---|"]
        lines += [parameter_row(p) for p in params if isinstance(p, dict)]
    return lines + [""] + change_rows(changes)


def first(entry: dict, *keys: str) -> object:
    return next((entry[k] for k in keys if entry.get(k) not in (None, "")), None)


def preview_section(preview: object, result: str) -> list[str]:
    """The live preview (`deployer preview up --output json`): one row per service.

    Every value (service, stack, URL, image, reason) comes from the pull request's
    deploy.yaml and templates or from AWS: a code span, like the change sets. The URL too:
    a link would let a pull request put any target behind the words "the preview".
    """
    result = clean(result)
    if not isinstance(preview, dict):
        lines = ["### Live preview", ""]
        if result == "skipped":
            return lines + ["Not run: the pull request is closed, or a job before it failed (see the run)."]
        said = f" (the preview job: {words(result)})" if result else ""
        return lines + [f"No preview report{said}: it stopped before the deployer reported; see the workflow run."]
    services = first(preview, "services", "stacks") or []
    services = [s for s in services if isinstance(s, dict)] if isinstance(services, list) else []
    states = {clean(first(s, "state")) for s in services}
    state = first(preview, "state") or ("failed" if "failed" in states or not services else "ready")
    name = first(preview, "preview", "name") or (f"pr-{preview['pr']}" if preview.get("pr") is not None else "")
    lines = [" ".join(filter(None, ["### Live preview", code(name)])) + f": {words(state)}", ""]
    if result == "failure" and clean(state) != "failed":
        lines += ["The preview job failed (see the workflow run).", ""]
    if services:
        lines += ["| Service | URL | State | Mode | Image |", "|---|---|---|---|---|"]
    for s in services[:MAX_ROWS]:
        image = cut(clean(first(s, "image", "image_uri")), 2 * MAX_VALUE)
        lines.append(
            f"| {cell(first(s, 'service', 'stack_name', 'stack') or '?')} | {cell(first(s, 'url', 'service_url'))} | "
            f"{words(first(s, 'state') or '?')} | {words(first(s, 'mode'))} | {cell(image)} |"
        )
    for s in services:
        reason = first(s, "reason", "error", "failure")
        if reason:
            lines += ["", f"{cell(first(s, 'service') or '?')}: {code(cut(clean(reason), 4 * MAX_VALUE))}"]
    if first(preview, "failure"):
        lines += ["", f"Failed: {code(cut(clean(preview['failure']), 4 * MAX_VALUE))}"]
    return lines


def render(report: dict, run_url: str, preview: object = None, preview_given: bool = False, result: str = "") -> str:
    """The comment body: marker, the live preview (when given), verdict, parameter and
    resource tables, link to the run."""
    lines = change_set_lines(report)
    if preview_given:
        lines = [lines[0], *preview_section(preview, result), "", *lines[1:]]
    footer = f"\n\n[Workflow run]({run_url}) · this comment is updated on every push."
    body = "\n".join(lines)
    if len(body) + len(footer) > MAX_BODY:
        body = body[:MAX_BODY].rsplit("\n", 1)[0] + "\n\n*(table cut: the full change set is in the run's job summary)*"
    return body + footer


def change_set_lines(report: dict) -> list[str]:
    """The marker, then the staging change sets (one section per changed stack)."""
    stacks = report.get("stacks")
    if isinstance(stacks, list):
        # A release: the environment stack and its services. Stacks without changes are
        # named in one line, so the sections shown are the ones a reviewer must read.
        stacks = [s for s in stacks if isinstance(s, dict)]
        environment = code(report.get("environment") or "?")
        lines = [MARKER, f"### Deploy preview for {code(report.get('application') or '?')} {environment}", ""]
        changed = [s for s in stacks if s.get("has_changes")]
        unchanged = [s for s in stacks if not s.get("has_changes")]
        if not changed:
            lines.append(f"No changes: merging this pull request leaves every stack of {environment} as it is.")
        for s in changed:
            what = f"service {code(s['service'])}" if s.get("service") else "the environment"
            lines += stack_section(s, f"#### {what}: stack") + [""]
        if changed and unchanged:
            names = ", ".join(code(s.get("stack_name") or "?") for s in unchanged)
            lines.append(f"No changes to {names}.")
    else:
        lines = [MARKER] + stack_section(report, "### Deploy preview for stack")
    return lines


class Api:
    """The three REST calls the sticky comment needs."""

    def __init__(self, base: str, repo: str, token: str):
        self.base, self.repo, self.token = base.rstrip("/"), repo, token

    def call(self, method: str, path: str, body: dict | None = None):
        req = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:500]
            raise SystemExit(f"error: GitHub API {method} {path} answered {e.code}: {detail}") from None
        except urllib.error.URLError as e:
            raise SystemExit(f"error: cannot reach the GitHub API at {self.base}: {e.reason}") from None

    def find_sticky(self, pr: str) -> dict | None:
        """Our earlier comment: a bot's comment whose first line is the marker."""
        page = 1
        while True:
            batch = self.call("GET", f"/repos/{self.repo}/issues/{pr}/comments?per_page={PAGE}&page={page}")
            for comment in batch:
                user = comment.get("user") or {}
                if (comment.get("body") or "").startswith(MARKER) and user.get("type") == "Bot":
                    return comment
            if len(batch) < PAGE:
                return None
            page += 1

    def upsert(self, pr: str, body: str) -> tuple[str, dict]:
        existing = self.find_sticky(pr)
        if existing is None:
            return "created", self.call("POST", f"/repos/{self.repo}/issues/{pr}/comments", {"body": body})
        return "updated", self.call("PATCH", f"/repos/{self.repo}/issues/comments/{existing['id']}", {"body": body})


def need(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"error: {name} is not set (the workflow passes it to this step)")
    return value


def main(argv: list[str]) -> int:
    usage = len(argv) == 2 or (len(argv) == 4 and argv[2] == "--preview")
    if not usage or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: cannot read the deployer report {argv[1]}: {e}") from None
    preview = None
    if len(argv) == 4:
        try:
            with open(argv[3], encoding="utf-8") as f:
                text = f.read()
            # Empty: the deployer failed before it printed its report (e.g. the preview limit).
            preview = json.loads(text) if text.strip() else None
        except FileNotFoundError:
            preview = None  # the job stopped before the deployer reported: the comment says so
        except (OSError, ValueError) as e:
            raise SystemExit(f"error: cannot read the preview report {argv[3]}: {e}") from None
    pr = need("PR_NUMBER")
    if not pr.isdigit():
        raise SystemExit(f"error: PR_NUMBER must be a number, got {pr!r}")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    run_url = f"{server}/{need('GITHUB_REPOSITORY')}/actions/runs/{os.environ.get('GITHUB_RUN_ID', '')}"
    body = render(report, run_url, preview, len(argv) == 4, os.environ.get("PREVIEW_RESULT", ""))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(body.replace(MARKER + "\n", "") + "\n")
    api = Api(need("GITHUB_API_URL"), need("GITHUB_REPOSITORY"), need("GITHUB_TOKEN"))
    verb, comment = api.upsert(pr, body)
    print(f"preview comment {verb}: {comment.get('html_url', comment.get('id'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
