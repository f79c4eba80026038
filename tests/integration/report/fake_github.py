"""A loopback fake of the GitHub REST endpoints the sticky comment uses, recording every request.

It answers as GitHub does (paths, pagination, status codes), so the client is tested at the HTTP boundary.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LIST = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<number>\d+)/comments$")
ONE = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/comments/(?P<id>\d+)$")

TOKEN = "ghs_not-a-real-token"


@dataclass
class FakeGitHub:
    token: str
    url: str = ""
    comments: dict[int, list[dict]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def add_comment(self, number: int, body: str) -> int:
        self.next_id += 1
        self.comments.setdefault(number, []).append(
            {"id": self.next_id, "body": body, "html_url": f"https://github.test/c/{self.next_id}"}
        )
        return self.next_id


@contextmanager
def serve_fake_github(token: str) -> Iterator[FakeGitHub]:
    state = FakeGitHub(token)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorised(self) -> bool:
            state.requests.append((self.command, self.path))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._reply(401, {"message": "Bad credentials"})
                return False
            return True

        def _body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def do_GET(self) -> None:
            if not self._authorised():
                return
            url = urlparse(self.path)
            match = LIST.match(url.path)
            if not match:
                return self._reply(404, {"message": "Not Found"})
            query = parse_qs(url.query)
            per_page, page = int(query["per_page"][0]), int(query["page"][0])
            items = state.comments.get(int(match["number"]), [])
            self._reply(200, items[(page - 1) * per_page : page * per_page])

        def do_POST(self) -> None:
            if not self._authorised():
                return
            match = LIST.match(self.path)
            if not match:
                return self._reply(404, {"message": "Not Found"})
            comment_id = state.add_comment(int(match["number"]), self._body()["body"])
            self._reply(201, {"id": comment_id, "html_url": f"https://github.test/c/{comment_id}"})

        def do_PATCH(self) -> None:
            if not self._authorised():
                return
            match = ONE.match(self.path)
            found = [c for cs in state.comments.values() for c in cs if match and c["id"] == int(match["id"])]
            if not found:
                return self._reply(404, {"message": "Not Found"})
            found[0]["body"] = self._body()["body"]
            self._reply(200, found[0])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
