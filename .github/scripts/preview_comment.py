#!/usr/bin/env python3
"""Posts the deploy preview of a pull request as ONE sticky comment (pr.yml, job `comment`).

    preview_comment.py REPORT.json

REPORT.json is what `deployer deploy --dry-run --output json` printed. The comment is
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

Untrusted input: the report carries text from the pull request (logical ids, property
values, parameter values). Every such value is escaped so it cannot close the table,
open HTML, fake the marker or mention anyone; it reaches the API only as JSON data,
never as shell text. Standard library only: runs on any runner's python3.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

MARKER = "<!-- alb-cognito-deploy:preview -->"
# GitHub refuses comments over 65,536 characters; leave room for the header and footer.
MAX_BODY = 60_000
PAGE = 100


def escape(value: object) -> str:
    """One table cell of untrusted text: no pipes, newlines, HTML, mentions or links."""
    text = str(value if value is not None else "")
    for old, new in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("|", "\\|"),
        ("`", "'"),
        ("@", "@\u200b"),
        ("\r", " "),
        ("\n", " "),
    ):
        text = text.replace(old, new)
    return text


def render(report: dict, run_url: str) -> str:
    """The comment body: marker, verdict, parameter and resource tables, link to the run."""
    stack = escape(report.get("stack_name", "?"))
    changes = report.get("changes") or []
    params = report.get("parameter_changes") or []
    lines = [MARKER, f"### Deploy preview for stack `{stack}`", ""]
    if not report.get("has_changes"):
        lines.append(f"No changes: merging this pull request leaves stack `{stack}` as it is.")
    else:
        lines.append(
            f"Merging this pull request would apply {len(changes)} resource change(s) to stack `{stack}`. "
            "Nothing was executed: the change set was created, read and deleted."
        )
        if report.get("image_uri"):
            lines += ["", f"Image: `{escape(report['image_uri'])}`"]
        if params:
            lines += ["", "| Parameter | Old | New |", "|---|---|---|"]
            lines += [f"| {escape(p.get('name'))} | {escape(p.get('old'))} | {escape(p.get('new'))} |" for p in params]
        lines += ["", "| Action | Logical ID | Type | Replacement | Changes |", "|---|---|---|---|---|"]
        for c in changes:
            details = "<br>".join(escape(d) for d in c.get("details") or [])
            lines.append(
                f"| {escape(c.get('action'))} | {escape(c.get('logical_id'))} | "
                f"{escape(c.get('resource_type'))} | {escape(c.get('replacement'))} | {details} |"
            )
    footer = f"\n\n[Workflow run]({run_url}) · this comment is updated on every push."
    body = "\n".join(lines)
    if len(body) + len(footer) > MAX_BODY:
        body = body[:MAX_BODY].rsplit("\n", 1)[0] + "\n\n*(table cut: the full change set is in the run's job summary)*"
    return body + footer


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
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: cannot read the deployer report {argv[1]}: {e}") from None
    pr = need("PR_NUMBER")
    if not pr.isdigit():
        raise SystemExit(f"error: PR_NUMBER must be a number, got {pr!r}")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    run_url = f"{server}/{need('GITHUB_REPOSITORY')}/actions/runs/{os.environ.get('GITHUB_RUN_ID', '')}"
    body = render(report, run_url)
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
