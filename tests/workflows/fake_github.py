"""A tiny fake of the GitHub REST calls the preview workflows make, on loopback.

    GET   /repos/OWNER/REPO/issues/N/comments?per_page=&page=   list (paginated)
    POST  /repos/OWNER/REPO/issues/N/comments                   create {"body"}
    PATCH /repos/OWNER/REPO/issues/comments/ID                  edit {"body"}
    GET   /repos/OWNER/REPO/pulls?state=open&per_page=&page=    open pull requests (paginated)
    GET   /repos/OWNER/REPO/pulls/N                             one pull request's state

Pull requests are `pulls` (number -> "open" or "closed"), set by the test.

It keeps the comments in memory and records every request (method, path, whether a
bearer token came with it), so a test can assert "created once, then edited in place".
Comments it creates belong to a Bot user, like the ones GITHUB_TOKEN writes; comments
seeded with `add_comment(..., bot=False)` play a person's.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BOT = {"login": "github-actions[bot]", "type": "Bot"}
PERSON = {"login": "someone", "type": "User"}


class FakeGitHub:
    def __init__(self, token: str = "fake-token"):
        self.token = token
        self.comments: dict[int, dict] = {}  # id -> {"issue", "body", "user"}
        self.requests: list[dict] = []
        self.pulls: dict[int, str] = {}  # number -> "open" | "closed"
        self._next = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_comment(self, issue: int, body: str, bot: bool = True) -> int:
        with self._lock:
            self._next += 1
            self.comments[self._next] = {"issue": issue, "body": body, "user": BOT if bot else PERSON}
            return self._next

    def on_issue(self, issue: int) -> list[dict]:
        return [dict(c, id=i) for i, c in sorted(self.comments.items()) if c["issue"] == issue]

    def writes(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.requests if r["method"] in ("POST", "PATCH")]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, code: int, payload) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                authorized = self.headers.get("Authorization") == f"Bearer {fake.token}"
                with fake._lock:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": url.path,
                            "authorized": authorized,
                            "body": raw.decode(errors="replace"),
                        }
                    )
                if not authorized:
                    return self._answer(401, {"message": "Bad credentials"})
                listing = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", url.path)
                editing = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", url.path)
                pulls = re.fullmatch(r"/repos/[^/]+/[^/]+/pulls", url.path)
                pull = re.fullmatch(r"/repos/[^/]+/[^/]+/pulls/(\d+)", url.path)
                query = parse_qs(url.query)
                if pulls and method == "GET":
                    wanted = query.get("state", ["open"])[0]
                    per_page = int(query.get("per_page", ["30"])[0])
                    page = int(query.get("page", ["1"])[0])
                    with fake._lock:
                        found = [
                            {"number": n, "state": s}
                            for n, s in sorted(fake.pulls.items())
                            if wanted == "all" or s == wanted
                        ]
                    return self._answer(200, found[(page - 1) * per_page : page * per_page])
                if pull and method == "GET":
                    number = int(pull.group(1))
                    if number not in fake.pulls:
                        return self._answer(404, {"message": "Not Found"})
                    return self._answer(200, {"number": number, "state": fake.pulls[number]})
                if listing and method == "GET":
                    per_page = int(query.get("per_page", ["30"])[0])
                    page = int(query.get("page", ["1"])[0])
                    items = fake.on_issue(int(listing.group(1)))[(page - 1) * per_page : page * per_page]
                    return self._answer(200, [self._public(c) for c in items])
                if listing and method == "POST":
                    cid = fake.add_comment(int(listing.group(1)), json.loads(raw)["body"])
                    return self._answer(201, self._public(dict(fake.comments[cid], id=cid)))
                if editing and method == "PATCH":
                    cid = int(editing.group(1))
                    if cid not in fake.comments:
                        return self._answer(404, {"message": "Not Found"})
                    if fake.comments[cid]["user"] is not BOT:
                        return self._answer(403, {"message": "Must have admin rights to Repository."})
                    fake.comments[cid]["body"] = json.loads(raw)["body"]
                    return self._answer(200, self._public(dict(fake.comments[cid], id=cid)))
                return self._answer(404, {"message": "Not Found"})

            @staticmethod
            def _public(c: dict) -> dict:
                return {
                    "id": c["id"],
                    "body": c["body"],
                    "user": c["user"],
                    "html_url": f"https://github.example/comment/{c['id']}",
                }

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

        return Handler
