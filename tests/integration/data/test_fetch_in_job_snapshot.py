"""The fetch step works where Azure ML runs it: a code snapshot without .git and without .dvc/config.local."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ml.data.restore import ensure_data
from ml.dvc import open_repo

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.integration


@pytest.fixture
def remote_with_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose local DVC remote holds the example data (as `edge-train run` leaves it)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    checkout = tmp_path / "checkout"
    for name in listed:
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, checkout / name)
    git_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "clone"]):
        subprocess.run(command, cwd=checkout, check=True, env=git_env)
    monkeypatch.chdir(checkout)  # DVC resolves output paths against the working directory
    with open_repo(checkout) as repo:
        ensure_data(repo, checkout)
    return checkout


def test_fetch_pulls_the_tracked_data_into_the_output_without_git(
    remote_with_data: Path, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot"  # what Azure ML mounts: code only, no .git, no data/, no DVC cache
    shutil.copytree(
        remote_with_data,
        snapshot,
        ignore=shutil.ignore_patterns(".git", "data", "cache", "tmp", ".dvc-storage"),
    )
    shutil.copytree(remote_with_data / ".dvc-storage", tmp_path / "remote")
    (snapshot / ".dvc" / "config").write_text(
        f"[core]\n    remote = edge\n['remote \"edge\"']\n    url = {tmp_path / 'remote'}\n"
    )
    out = tmp_path / "outputs" / "raw_data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_STORAGE", "EDGE_TRAIN"))}

    result = subprocess.run(
        [sys.executable, "-m", "ml.data.fetch", "--out", str(out)],
        cwd=snapshot,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    expected = sorted(
        p.relative_to(remote_with_data / "data" / "raw")
        for p in (remote_with_data / "data" / "raw").rglob("*")
        if p.is_file()
    )
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == expected
    assert all(
        (out / p).read_bytes() == (remote_with_data / "data" / "raw" / p).read_bytes() for p in expected
    )
    pulled = [snapshot / "data" / "raw" / p for p in expected]
    assert all(path.stat().st_nlink > 1 or reflinks_work(path.parent) for path in pulled), (
        "the job's workspace holds a second copy of the cache (cache.type not overridden)"
    )


def reflinks_work(folder: Path) -> bool:
    """Whether `folder`'s file system clones files (then DVC links by reflink, and st_nlink stays 1)."""
    from dvc_objects.fs.system import reflink

    source, clone = folder / ".reflink-probe", folder / ".reflink-probe-clone"
    source.write_bytes(b"x")
    try:
        reflink(str(source), str(clone))
        return True
    except OSError:
        return False
    finally:
        source.unlink()
        clone.unlink(missing_ok=True)


def test_fetch_can_pull_from_a_folder_the_job_mounted(remote_with_data: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot"
    shutil.copytree(
        remote_with_data, snapshot, ignore=shutil.ignore_patterns(".git", "data", "cache", ".dvc-storage")
    )
    mounted = (
        tmp_path / "mnt" / "dvc-remote"
    )  # stands for azureml://datastores/ash_blob/paths/dvc mounted read-only
    shutil.copytree(remote_with_data / ".dvc-storage", mounted)
    out = tmp_path / "outputs" / "raw_data"

    result = subprocess.run(
        [sys.executable, "-m", "ml.data.fetch", "--out", str(out), "--remote-url", str(mounted)],
        cwd=snapshot,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert any(out.rglob("*.csv"))


def test_fetch_without_the_remote_fails_with_one_clear_message(
    remote_with_data: Path, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot"
    shutil.copytree(
        remote_with_data, snapshot, ignore=shutil.ignore_patterns(".git", "data", "cache", ".dvc-storage")
    )

    result = subprocess.run(
        [sys.executable, "-m", "ml.data.fetch", "--out", str(tmp_path / "out")],
        cwd=snapshot,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout.startswith("error: dvc pull in the job failed")
    assert "Traceback" not in result.stdout + result.stderr
