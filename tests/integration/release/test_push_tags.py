"""`version --push` and `promote --push` against a real origin: a local bare repository, no network."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from ml.cli import app, run_app
from ml.errors import EdgeTrainError
from ml.release.gitpush import push_tags
from ml.release.version import create_version

pytestmark = pytest.mark.integration
NAME = "breast-cancer-classifier"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def fields(model_hash: str) -> dict[str, str]:
    return {"model_hash": model_hash, "signature_hash": "s", "git_commit": "c", "mlflow_version": "1"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "config", "user.email", "ci@example.invalid")
    git(work, "config", "user.name", "CI")
    (work / "params.yaml").write_text("train: {}\n")
    git(work, "add", "params.yaml")
    git(work, "commit", "-q", "-m", "first")
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(work))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return work, bare


def remote_tags(bare: Path) -> list[str]:
    return git(bare, "tag", "--list").split()


def test_a_new_tag_is_pushed_and_a_rerun_says_origin_has_it(repo, capsys) -> None:
    work, bare = repo
    tag, _ = create_version(work, NAME, fields("m1"))
    assert push_tags(work, [tag]) == [tag]
    assert remote_tags(bare) == [tag]
    assert git(bare, "cat-file", "-t", tag).strip() == "tag"  # annotated: the lineage travels with it
    assert push_tags(work, [tag]) == []
    assert "already has it" in capsys.readouterr().out


def test_origin_holding_another_tag_of_that_name_is_an_error_never_a_move(repo, tmp_path: Path) -> None:
    work, bare = repo
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    git(other, "-c", "user.name=o", "-c", "user.email=o@x", "commit", "-q", "--allow-empty", "-m", "other")
    git(other, "-c", "user.name=o", "-c", "user.email=o@x", "tag", "-a", "-m", "x", f"{NAME}@v1.0.0")
    git(other, "push", "-q", "origin", f"refs/tags/{NAME}@v1.0.0")
    before = git(bare, "rev-parse", f"{NAME}@v1.0.0")
    tag, _ = create_version(work, NAME, fields("m1"))
    with pytest.raises(EdgeTrainError, match="failed") as info:
        push_tags(work, [tag])
    assert "never moved" in info.value.hint
    assert git(bare, "rev-parse", f"{NAME}@v1.0.0") == before


def test_no_origin_says_how_to_fix(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    with pytest.raises(EdgeTrainError, match="no `origin` remote"):
        push_tags(tmp_path, ["x@v1.0.0"])


def test_cli_promote_with_a_bare_version_pushes_the_production_stage_tag(repo, capsys) -> None:
    work, bare = repo
    create_version(work, NAME, fields("m1"))
    assert run_app(app, ["promote", "1.0.0", "--push"]) == 0
    assert f"{NAME}#production#1" in remote_tags(bare)
    out = capsys.readouterr().out
    assert f"promoted {NAME}@v1.0.0 to production" in out
    # A fresh CI runner: no MLflow store here, so the alias is skipped with the reason, not an error.
    assert f"MLflow alias {NAME}@production" in out and "does not exist here" in out
    assert not (work / "mlflow.db").exists()
    # Re-running (the workflow retried) creates and pushes nothing new.
    assert run_app(app, ["promote", "v1.0.0", "--stage", "production", "--push"]) == 0
    out = capsys.readouterr().out
    assert "already the production version" in out and "already has it" in out
    assert [t for t in remote_tags(bare) if "#" in t] == [f"{NAME}#production#1"]


@pytest.mark.parametrize("ref", ["1.0.0", "v1.0.0", f"{NAME}@v1.0.0"])
def test_promote_accepts_the_three_spellings(repo, ref: str) -> None:
    work, _ = repo
    create_version(work, NAME, fields("m1"))
    assert run_app(app, ["promote", ref]) == 0
    assert git(work, "tag", "--list", f"{NAME}#production#*").split() == [f"{NAME}#production#1"]


@pytest.mark.parametrize("ref", ["1.0", "latest", "@v1.0.0", "--version"])
def test_promote_refuses_what_is_not_a_version(repo, ref: str, capsys) -> None:
    assert run_app(app, ["promote", "--", ref]) != 0
    assert "is not a model version" in capsys.readouterr().err


def test_cli_version_push_pushes_the_version_tag(repo, monkeypatch, capsys) -> None:
    """`version --push` wiring; the trained model is stood in for (register and version have their tests)."""
    import ml.release.pipeline

    _, bare = repo

    def register_and_version(root: Path, number: str | None = None) -> SimpleNamespace:
        tag, _ = create_version(root, NAME, fields("m1"), number)
        return SimpleNamespace(ref=tag)

    monkeypatch.setattr(ml.release.pipeline, "register_and_version", register_and_version)
    assert run_app(app, ["version", "--push"]) == 0
    assert remote_tags(bare) == [f"{NAME}@v1.0.0"]
    assert run_app(app, ["version", "--push"]) == 0  # the re-run of a retried workflow
    assert "already has it" in capsys.readouterr().out
    assert remote_tags(bare) == [f"{NAME}@v1.0.0"]
