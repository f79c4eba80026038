"""GITHUB_TOKEN reaches `git push` only through git's environment: never argv, .git/config or output.

origin is `https://github.com/...` as in a GitHub Actions checkout; the repository's own config (set up by the
test, as a stand-in for the network) rewrites it to a local bare repository, so the push really happens.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from ml.release import gitpush
from ml.release.gitpush import auth_env, push_tags

TOKEN = "ghs_unit7TokenNeverShown0123456789"
GITHUB_ORIGIN = "https://github.com/owner/edge-train.git"
HEADER_KEY = "http.https://github.com/.extraheader"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, Path]:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "config", "user.email", "ci@example.invalid")
    git(work, "config", "user.name", "CI")
    (work / "params.yaml").write_text("train: {}\n")
    git(work, "add", "params.yaml")
    git(work, "commit", "-q", "-m", "first")
    git(work, "tag", "-a", "-m", "v1", "model@v1.0.0")
    git(work, "remote", "add", "origin", GITHUB_ORIGIN)
    git(work, "config", f"url.{bare}.insteadOf", GITHUB_ORIGIN)  # the "network": no connection is made
    return work, bare


def test_the_token_goes_through_git_config_env_vars_only(checkout, monkeypatch, capsys) -> None:
    work, bare = checkout
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def spy(cmd, *args, **kwargs):
        calls.append((list(cmd), dict(kwargs.get("env") or {})))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(gitpush.subprocess, "run", spy)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(work.parent), "GITHUB_TOKEN": TOKEN}
    assert push_tags(work, ["model@v1.0.0"], environ) == ["model@v1.0.0"]

    assert git(bare, "tag", "--list") == "model@v1.0.0\n"
    assert calls and all(TOKEN not in arg for cmd, _ in calls for arg in cmd)
    (push_env,) = [env for cmd, env in calls if cmd[:2] == ["git", "push"]]
    assert push_env["GIT_CONFIG_COUNT"] == "1"
    assert push_env["GIT_CONFIG_KEY_0"] == HEADER_KEY
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert push_env["GIT_CONFIG_VALUE_0"] == f"AUTHORIZATION: basic {encoded}"
    assert push_env["GIT_TERMINAL_PROMPT"] == "0"
    config = (work / ".git" / "config").read_text()
    assert TOKEN not in config and encoded not in config and "extraheader" not in config
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err and encoded not in out.out + out.err
    assert "pushed model@v1.0.0 to https://github.com/owner/edge-train.git" in out.out


def test_a_failing_push_never_shows_the_token(checkout, monkeypatch) -> None:
    work, _ = checkout
    real_run = subprocess.run

    def failing(cmd, *args, **kwargs):  # git echoing the secret back, the worst case
        if cmd[:2] == ["git", "push"]:
            return subprocess.CompletedProcess(cmd, 128, "", f"fatal: bad credentials {TOKEN}\n")
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(gitpush.subprocess, "run", failing)
    with pytest.raises(gitpush.EdgeTrainError) as info:
        push_tags(work, ["model@v1.0.0"], {"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": TOKEN})
    assert TOKEN not in info.value.message and "***" in info.value.message
    assert "contents: write" in info.value.hint


def test_no_token_no_header() -> None:
    assert auth_env(GITHUB_ORIGIN, {}) == {}


@pytest.mark.parametrize(
    "origin",
    [
        "git@github.com:owner/edge-train.git",
        "https://gitlab.example/owner/r.git",
        "/srv/git/r.git",
        "http://github.com/owner/r.git",
        "https://github.com.evil.example/owner/r.git",
    ],
)
def test_the_token_is_only_sent_to_the_github_server_over_https(origin: str) -> None:
    assert auth_env(origin, {"GITHUB_TOKEN": TOKEN}) == {}


def test_existing_git_config_env_entries_are_kept() -> None:
    extra = auth_env(GITHUB_ORIGIN, {"GITHUB_TOKEN": TOKEN, "GIT_CONFIG_COUNT": "2"})
    assert extra["GIT_CONFIG_COUNT"] == "3" and extra["GIT_CONFIG_KEY_2"] == HEADER_KEY


def test_github_enterprise_server_from_github_server_url() -> None:
    extra = auth_env(
        "https://ghe.example/owner/r.git", {"GITHUB_TOKEN": TOKEN, "GITHUB_SERVER_URL": "https://ghe.example"}
    )
    assert extra["GIT_CONFIG_KEY_0"] == "http.https://ghe.example/.extraheader"
