"""The job's code snapshot is the files git tracks, whatever else lies in the checkout (ml/azure/snapshot.py).

The contract tests submit through azure-ai-ml into the fake Azure and read the blob names the SDK uploaded;
the expected list is `git ls-files` of the clone minus what the SDK's own `.amlignore` matcher trims.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ml.azure.job import build_pipeline_job
from ml.azure.snapshot import code_snapshot, materialise, use_snapshot
from ml.azure.submit import submit
from ml.config import Settings
from ml.errors import EdgeTrainError

from .conftest import GIT_ENV
from .fake_azure import FakeAzure

PIPELINE = Path("pipelines/train.yml")


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout


def expected_upload(root: Path) -> set[str]:
    """Tracked files, less those the SDK's `.amlignore` matcher excludes (the SDK decides, not our code)."""
    from azure.ai.ml._utils._asset_utils import AmlIgnoreFile

    ignore = AmlIgnoreFile(root)
    return {path for path in git(root, "ls-files").splitlines() if not ignore.is_file_excluded(root / path)}


def code_hashes(fake_azure: FakeAzure) -> set[str]:
    """The content hashes the SDK looked code assets up by (`GET .../codes/{name}/versions?hash=`)."""
    return {
        parse_qs(urlsplit(r.url).query)["hash"][0]
        for r in fake_azure.requests
        if r.method == "GET" and "/codes/" in r.path and "hash=" in r.url
    }


@pytest.fixture
def cluttered(with_local_state: Path, tmp_path: Path) -> Path:
    """The clone with what a working copy gathers that git does not track: none of it may be uploaded."""
    (with_local_state / "data" / "secret.csv").write_text("id,diagnosis\n1,M\n")  # ignored by .gitignore
    (with_local_state / "notes.csv").write_text("id,diagnosis\n2,B\n")  # untracked and NOT ignored
    site = with_local_state / ".venv" / "lib" / "python3.11" / "site-packages" / "pkg"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big.bin").write_bytes(b"\0" * 1024)
    (with_local_state / ".tools").symlink_to(outside)  # make links tools in, like this
    return with_local_state


def test_the_upload_is_every_tracked_file_and_nothing_untracked(
    cluttered: Path, settings: Settings, fake_azure: FakeAzure, ml_client, capsys
) -> None:
    submit(ml_client, build_pipeline_job(cluttered, settings, PIPELINE), cluttered)

    uploaded = fake_azure.snapshot_files(cluttered.name)
    assert uploaded == expected_upload(cluttered)
    assert {"ml/edge/node.py", "dvc.yaml", "params.yaml", "data.dvc", ".dvc/config"} <= uploaded
    assert (
        not {"data/secret.csv", "data/raw/patients.csv", "notes.csv", "mlflow.db", ".dvc/config.local"}
        & uploaded
    )
    assert not [path for path in uploaded if path.startswith((".venv/", ".tools/", ".git/"))]
    assert "notes.csv" in capsys.readouterr().err  # submit names the untracked file it leaves out


def test_two_submits_of_one_commit_upload_the_same_code_asset(
    with_local_state: Path, settings: Settings, fake_azure: FakeAzure, ml_client, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "another-checkout"  # the same commit checked out under another name
    shutil.copytree(with_local_state, elsewhere, symlinks=True)
    for checkout in (with_local_state, with_local_state, elsewhere):  # a new temporary folder each time
        submit(ml_client, build_pipeline_job(checkout, settings, PIPELINE), checkout)
    (same,) = code_hashes(fake_azure)  # one content hash for all components of all three submits

    (with_local_state / "ml" / "steps" / "__init__.py").write_text("# changed\n", encoding="utf-8")
    git(with_local_state, "commit", "-qam", "a change to the code")
    fake_azure.requests.clear()
    submit(ml_client, build_pipeline_job(with_local_state, settings, PIPELINE), with_local_state)

    assert code_hashes(fake_azure) - {same}  # a new commit is a new code asset


def test_the_emulator_runs_on_the_snapshot_submit_uploads(
    cluttered: Path, settings: Settings, fake_azure: FakeAzure, ml_client, tmp_path: Path
) -> None:
    from tests.harness.azureml.snapshot import snapshot_files
    from tests.integration.edge.edge_project import PIPELINE as EMULATED

    submit(ml_client, build_pipeline_job(cluttered, settings, PIPELINE), cluttered)
    job = build_pipeline_job(cluttered, settings, EMULATED)
    use_snapshot(job, cluttered, materialise(cluttered, tmp_path / "emulator"))  # as edge_project.emulator

    for node in job.jobs.values():
        assert {relative for _, relative in snapshot_files(node.component)} == fake_azure.snapshot_files(
            cluttered.name
        )


def test_a_changed_tracked_file_goes_as_the_working_tree_has_it_a_deleted_one_not(
    clone: Path, tmp_path: Path
) -> None:
    (clone / "params.yaml").write_text("changed: true\n", encoding="utf-8")
    (clone / "README.md").unlink()

    snapshot = materialise(clone, tmp_path / "snap")

    assert snapshot.name == clone.name  # the blob path LocalUpload/<hash>/<name>/ stays the checkout's
    assert (snapshot / "params.yaml").read_text(encoding="utf-8") == "changed: true\n"
    assert not (snapshot / "README.md").exists()


def test_a_tracked_symlink_out_of_the_repository_is_refused(clone: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (clone / "shared").symlink_to(tmp_path / "elsewhere")
    git(clone, "add", "shared")

    with pytest.raises(EdgeTrainError) as raised:
        materialise(clone, tmp_path / "snap")

    assert "shared" in raised.value.message and "not a tracked file" in raised.value.message


def test_a_folder_that_is_not_a_git_checkout_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()

    with pytest.raises(EdgeTrainError) as raised:
        materialise(tmp_path / "project", tmp_path / "snap")

    assert "git clone" in raised.value.hint


def test_the_snapshot_is_gone_and_the_job_unchanged_after_a_failed_upload(
    clone: Path, settings: Settings
) -> None:
    job = build_pipeline_job(clone, settings, PIPELINE)
    before = {name: node.component.code for name, node in job.jobs.items()}

    with pytest.raises(RuntimeError), code_snapshot(job, clone) as snapshot:
        assert all(node.component.code.startswith(str(snapshot)) for node in job.jobs.values())
        raise RuntimeError("the upload failed")

    assert not snapshot.exists()
    assert {name: node.component.code for name, node in job.jobs.items()} == before


def test_code_outside_the_repository_is_refused(clone: Path, settings: Settings, tmp_path: Path) -> None:
    job = build_pipeline_job(clone, settings, PIPELINE)
    (tmp_path / "elsewhere").mkdir()
    next(iter(job.jobs.values())).component.code = str(tmp_path / "elsewhere")

    with pytest.raises(EdgeTrainError) as raised:
        use_snapshot(job, clone, tmp_path / "snap")

    assert "outside the repository" in raised.value.message
