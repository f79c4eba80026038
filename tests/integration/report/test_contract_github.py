"""Contract: the sticky report comment against a loopback fake of GitHub's REST API (fake_github.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ml.errors import EdgeTrainError
from ml.report.github import PullRequest, pull_request_from_env, upsert_comment
from tests.integration.report.fake_github import TOKEN, FakeGitHub, serve_fake_github

MARKER = "<!-- edge-train:report -->"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A fake GitHub on a loopback port, accepting only its own token."""
    with serve_fake_github(TOKEN) as state:
        yield state


def test_first_report_creates_the_comment_and_later_ones_update_it_in_place(github):
    pr = PullRequest(github.url, "octo/edge", 7)
    github.add_comment(7, "LGTM")
    _, created = upsert_comment(pr, github.token, MARKER, f"{MARKER}\nfirst")
    _, created_again = upsert_comment(pr, github.token, MARKER, f"{MARKER}\nsecond")
    assert (created, created_again) == (True, False)
    assert [c["body"] for c in github.comments[7]] == ["LGTM", f"{MARKER}\nsecond"]


def test_finds_the_comment_on_a_later_page(github):
    for i in range(150):
        github.add_comment(3, f"chatter {i}")
    sticky = github.add_comment(3, f"{MARKER}\nold")
    upsert_comment(PullRequest(github.url, "octo/edge", 3), github.token, MARKER, f"{MARKER}\nnew")
    assert [c["body"] for c in github.comments[3] if c["id"] == sticky] == [f"{MARKER}\nnew"]
    assert ("GET", "/repos/octo/edge/issues/3/comments?per_page=100&page=2") in github.requests
    assert len(github.comments[3]) == 151


def test_a_rejected_token_is_a_clear_error_that_never_shows_the_token(github):
    with pytest.raises(EdgeTrainError) as error:
        upsert_comment(PullRequest(github.url, "octo/edge", 1), "wrong-token", MARKER, MARKER)
    assert "answered 401" in error.value.message
    assert "pull-requests: write" in error.value.hint
    assert "wrong-token" not in str(error.value)


def test_an_oversized_report_is_truncated_below_githubs_limit(github):
    upsert_comment(PullRequest(github.url, "octo/edge", 2), github.token, MARKER, MARKER + "x" * 70_000)
    body = github.comments[2][0]["body"]
    assert len(body) < 65_536 and body.startswith(MARKER) and "report truncated" in body


def test_the_pull_request_comes_from_the_actions_event_payload(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}}))
    pr = pull_request_from_env(
        {
            "GITHUB_REPOSITORY": "octo/edge",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_API_URL": "http://127.0.0.1:1/",
        }
    )
    assert pr == PullRequest("http://127.0.0.1:1", "octo/edge", 42)


def test_a_push_event_is_not_a_pull_request(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    with pytest.raises(EdgeTrainError, match="not a pull_request event payload"):
        pull_request_from_env({"GITHUB_REPOSITORY": "octo/edge", "GITHUB_EVENT_PATH": str(event)})
