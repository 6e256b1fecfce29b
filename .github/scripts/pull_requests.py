#!/usr/bin/env python3
"""What the preview workflows ask GitHub about pull requests (REST API, GITHUB_TOKEN).

    pull_requests.py open       the open pull requests' numbers, ascending, comma-separated
                                (empty line when none): preview-prune.yml's --keep
    pull_requests.py state N    `open` or `closed`: pr.yml's preview job, before `preview up`

Environment (set by the runner or the workflow; nothing else is read):
  GITHUB_TOKEN       the job's token (`pull-requests: read` is enough)
  GITHUB_API_URL     e.g. https://api.github.com
  GITHUB_REPOSITORY  OWNER/REPO

Every page of the listing is read (100 per page); any API error stops with a message
and a non-zero status, never with a partial list: `prune --keep` with a partial list
would remove open pull requests' previews. Standard library only, like preview_comment.py.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

PAGE = 100


def need(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"error: {name} is not set (the workflow passes it to this step)")
    return value


def get(path: str):
    base = need("GITHUB_API_URL").rstrip("/")
    req = urllib.request.Request(
        f"{base}{path}",
        headers={
            "Authorization": f"Bearer {need('GITHUB_TOKEN')}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")[:500]
        raise SystemExit(f"error: GitHub API GET {path} answered {e.code}: {detail}") from None
    except urllib.error.URLError as e:
        raise SystemExit(f"error: cannot reach the GitHub API at {base}: {e.reason}") from None


def open_numbers(repo: str) -> list[int]:
    numbers: set[int] = set()
    page = 1
    while True:
        batch = get(f"/repos/{repo}/pulls?state=open&per_page={PAGE}&page={page}")
        if not isinstance(batch, list):
            raise SystemExit(f"error: GitHub API listed no pull requests (answer: {str(batch)[:200]})")
        for pull in batch:
            number = pull.get("number") if isinstance(pull, dict) else None
            if not isinstance(number, int) or number < 1:
                raise SystemExit(f"error: a pull request without a number in the listing: {str(pull)[:200]}")
            numbers.add(number)
        if len(batch) < PAGE:
            return sorted(numbers)
        page += 1


def state(repo: str, number: str) -> str:
    answer = get(f"/repos/{repo}/pulls/{number}")
    value = answer.get("state") if isinstance(answer, dict) else None
    if value not in ("open", "closed"):
        raise SystemExit(f"error: pull request {number} has no state open or closed (answer: {str(answer)[:200]})")
    return value


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "open":
        print(",".join(str(n) for n in open_numbers(need("GITHUB_REPOSITORY"))))
        return 0
    if len(argv) == 3 and argv[1] == "state":
        if not argv[2].isdigit():
            raise SystemExit(f"error: the pull request number must be a number, got {argv[2]!r}")
        print(state(need("GITHUB_REPOSITORY"), argv[2]))
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
