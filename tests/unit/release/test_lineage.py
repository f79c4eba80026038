"""The model's identity is its bytes; a run's own outputs never make the tree 'uncommitted'."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ml.lineage import content_hash, edge_run, record_edge_run, uncommitted_inputs, uncommitted_run_outputs


def test_the_identity_changes_with_any_byte_and_any_name_and_nothing_else(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "model.skops").write_bytes(b"weights")
    first = content_hash(model)
    assert content_hash(model) == first
    (model / "model.skops").write_bytes(b"weightz")
    assert content_hash(model) != first
    (model / "model.skops").write_bytes(b"weights")
    (model / "model.skops").rename(model / "other.skops")
    assert content_hash(model) != first


def git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


def test_a_runs_outputs_are_not_uncommitted_inputs_but_code_and_params_are(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    for name in ("dvc.lock", "params.yaml", "reports/metrics.json"):
        (tmp_path / name).write_text("a\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "trained")
    (tmp_path / "dvc.lock").write_text("b\n")
    (tmp_path / "reports" / "metrics.json").write_text("b\n")
    assert uncommitted_inputs(tmp_path) == []
    (tmp_path / "params.yaml").write_text("b\n")
    assert uncommitted_inputs(tmp_path) == ["params.yaml"]


def test_what_a_run_wrote_new_or_removed_is_named_for_the_commit(tmp_path: Path) -> None:
    """A fork's first run writes its task's plots and removes the example's: all of it is to be committed."""
    (tmp_path / "reports" / "plots").mkdir(parents=True)
    for name in ("dvc.lock", "params.yaml", "reports/plots/roc.json"):
        (tmp_path / name).write_text("a\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "template")
    assert uncommitted_run_outputs(tmp_path) == []
    (tmp_path / "dvc.lock").write_text("b\n")
    (tmp_path / "reports" / "plots" / "roc.json").unlink()
    (tmp_path / "reports" / "plots" / "residuals.json").write_text("a\n")
    (tmp_path / "params.yaml").write_text("b\n")
    assert sorted(uncommitted_run_outputs(tmp_path)) == [
        "dvc.lock",
        "reports/plots/residuals.json",
        "reports/plots/roc.json",
    ]


def test_the_edge_run_that_returned_the_model_is_its_lineage_until_the_bytes_change(tmp_path: Path) -> None:
    model = tmp_path / "artifacts" / "model"
    model.mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "model.skops").write_bytes(b"returned by the edge")
    record_edge_run(tmp_path, "gentle_job_7")
    assert edge_run(tmp_path, content_hash(model)) == "gentle_job_7"

    (model / "model.skops").write_bytes(b"retrained here afterwards")
    assert edge_run(tmp_path, content_hash(model)) is None, "the record names only the bytes it came with"
