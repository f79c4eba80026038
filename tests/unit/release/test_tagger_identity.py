"""A version tag needs a tagger: without a git identity (a fresh runner) edge-train tags as itself."""

import subprocess
from pathlib import Path

import pytest

from ml.release.version import FALLBACK_TAGGER, _git


def test_a_checkout_without_a_git_identity_still_gets_its_version_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    identity = ["-c", "user.name=someone", "-c", "user.email=someone@example.invalid"]
    subprocess.run(["git", *identity, "commit", "-q", "--allow-empty", "-m", "first"], cwd=repo, check=True)

    _git(repo, "tag", "--annotate", "--file=-", "model@v1.0.0", "HEAD", stdin="version: v1.0.0\n")

    tagger = _git(repo, "for-each-ref", "refs/tags", "--format=%(taggeremail)").strip()
    assert tagger == f"<{FALLBACK_TAGGER['GIT_COMMITTER_EMAIL']}>"
