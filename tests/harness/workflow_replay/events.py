"""Event payloads and the `github` context, shaped like GitHub's webhook payloads.

Only the fields workflows and our CLI read, with the names and nesting of the documented payloads
(https://docs.github.com/en/webhooks/webhook-events-and-payloads): `pull_request` (action, number,
pull_request.head/base with ref, sha and repo.full_name/fork), `push` (ref, before, after, repository,
head_commit) and `workflow_dispatch` (inputs, ref, workflow). A fork's pull request differs from a
same-repository one only in `pull_request.head.repo`, as on GitHub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REPOSITORY = "edge-org/edge-train"
FORK = "outside-contributor/edge-train"


def repository(full_name: str = REPOSITORY, fork: bool = False) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "full_name": full_name,
        "name": name,
        "owner": {"login": owner},
        "fork": fork,
        "default_branch": "main",
        "clone_url": f"https://github.com/{full_name}.git",
    }


@dataclass(frozen=True)
class Event:
    """One trigger: its name, payload, and the ref/sha the runner checks out."""

    name: str
    payload: dict[str, Any]
    ref: str
    sha: str
    head_ref: str = ""
    base_ref: str = ""

    @property
    def inputs(self) -> dict[str, Any]:
        return self.payload.get("inputs", {}) if self.name == "workflow_dispatch" else {}


def pull_request(number: int, head_sha: str, base_sha: str, merge_sha: str, fork: bool = False) -> Event:
    head_repo = repository(FORK if fork else REPOSITORY, fork=fork)
    payload = {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "head": {"ref": "feature", "sha": head_sha, "repo": head_repo},
            "base": {"ref": "main", "sha": base_sha, "repo": repository()},
            "merge_commit_sha": merge_sha,
        },
        "repository": repository(),
        "sender": {"login": head_repo["owner"]["login"]},
    }
    return Event("pull_request", payload, f"refs/pull/{number}/merge", merge_sha, "feature", "main")


def push(before: str, after: str, branch: str = "main") -> Event:
    payload = {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": after,
        "repository": repository(),
        "pusher": {"name": "maintainer"},
        "head_commit": {"id": after},
    }
    return Event("push", payload, f"refs/heads/{branch}", after)


def workflow_dispatch(sha: str, inputs: dict[str, str], workflow: str, branch: str = "main") -> Event:
    payload = {
        "inputs": inputs,
        "ref": f"refs/heads/{branch}",
        "repository": repository(),
        "sender": {"login": "maintainer"},
        "workflow": f".github/workflows/{workflow}",
    }
    return Event("workflow_dispatch", payload, f"refs/heads/{branch}", sha)


def github_context(event: Event, workspace: str, token: str) -> dict[str, Any]:
    """The `github` context a job sees (the subset the expressions reference)."""
    return {
        "event_name": event.name,
        "event": event.payload,
        "repository": REPOSITORY,
        "repository_owner": REPOSITORY.split("/")[0],
        "ref": event.ref,
        "ref_name": event.ref.rsplit("/", 1)[-1]
        if event.name != "pull_request"
        else f"{event.payload['number']}/merge",
        "sha": event.sha,
        "head_ref": event.head_ref,
        "base_ref": event.base_ref,
        "workspace": workspace,
        "token": token,
        "actor": event.payload.get("sender", {}).get("login", "maintainer"),
        "run_id": "4242",
        "run_number": "7",
        "run_attempt": "1",
        "server_url": "https://github.com",
        "api_url": "https://api.github.com",
    }
