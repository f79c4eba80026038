"""Post the report as one sticky pull-request comment, updated in place on every push.

A small REST client on the standard library with the job's `GITHUB_TOKEN`: no third-party action sees the
report, and the comment is found again by the hidden marker on its first line. The token is sent only in the
Authorization header and never appears in messages.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.errors import EdgeTrainError

MAX_BODY = 65_000  # GitHub rejects comment bodies over 65,536 characters.
PAGE_SIZE = 100


@dataclass(frozen=True)
class PullRequest:
    api_url: str
    repository: str
    number: int


def pull_request_from_env(env: dict[str, str] | None = None) -> PullRequest:
    """The pull request this Actions job runs for, from GITHUB_* variables and the event payload."""
    env = dict(os.environ) if env is None else env
    missing = [name for name in ("GITHUB_REPOSITORY", "GITHUB_EVENT_PATH") if not env.get(name)]
    if missing:
        raise EdgeTrainError(
            f"--comment needs {', '.join(missing)}: not running in GitHub Actions?",
            hint="run with --comment only in a pull_request workflow",
        )
    try:
        event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        number = int(event["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError):
        raise EdgeTrainError(
            f"{env['GITHUB_EVENT_PATH']}: not a pull_request event payload",
            hint="run with --comment only in a workflow triggered by pull_request",
        ) from None
    return PullRequest(
        env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"), env["GITHUB_REPOSITORY"], number
    )


def upsert_comment(pr: PullRequest, token: str, marker: str, body: str) -> tuple[str, bool]:
    """Update the comment whose body starts with `marker`, or create it; return (its URL, created?)."""
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n\n… report truncated: see the job summary for the rest.\n"
    client = _Client(token)
    comments_url = f"{pr.api_url}/repos/{pr.repository}/issues/{pr.number}/comments"
    existing = _find(client, comments_url, marker)
    if existing is not None:
        updated = client.request(
            "PATCH", f"{pr.api_url}/repos/{pr.repository}/issues/comments/{existing}", {"body": body}
        )
        return str(updated.get("html_url", "")), False
    created = client.request("POST", comments_url, {"body": body})
    return str(created.get("html_url", "")), True


def _find(client: _Client, comments_url: str, marker: str) -> int | None:
    page = 1
    while True:
        comments = client.request("GET", f"{comments_url}?per_page={PAGE_SIZE}&page={page}")
        for comment in comments:
            if str(comment.get("body", "")).startswith(marker):
                return int(comment["id"])
        if len(comments) < PAGE_SIZE:
            return None
        page += 1


class _Client:
    def __init__(self, token: str) -> None:
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "edge-train-report",
        }

    def request(self, method: str, url: str, payload: dict | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        headers = {**self._headers, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EdgeTrainError(
                f"GitHub API {method} {url.split('?')[0]} answered {exc.code} {exc.reason}",
                hint=_hint(exc.code),
            ) from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise EdgeTrainError(
                f"GitHub API {url.split('?')[0]} unreachable: {exc}",
                hint="check GITHUB_API_URL and the runner's network",
            ) from None


def _hint(status: int) -> str:
    if status in (401, 403):
        return (
            "the job's GITHUB_TOKEN needs `pull-requests: write`; pull requests from forks get a "
            "read-only token, so the workflow skips the comment for them and keeps the job summary"
        )
    if status == 404:
        return "check GITHUB_REPOSITORY and the pull request number in the event payload"
    return "retry the job; GitHub may be having trouble"
