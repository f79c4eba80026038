"""The compiled dvc.yaml on a fresh clone: the committed metrics, and DVC re-runs only what changed.

Real git, real DVC (in-process), real training: this is the acceptance test of `edge-train pipeline compile`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml.data.restore import ensure_data
from ml.dvc import open_repo
from ml.pipeline.sync import write_compiled

REPO_ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh clone of the committed branch, reproduced once with the compiled graph."""
    root = tmp_path_factory.mktemp("clone") / "edge-train"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(REPO_ROOT), str(root)], check=True)
    patch = pytest.MonkeyPatch()
    patch.chdir(root)  # DVC resolves relative output paths against the working directory
    patch.setenv("EDGE_TRAIN_ROOT", str(root))
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    assert write_compiled(root) is False, "the committed dvc.yaml must already be the compiled one"
    with open_repo(root) as repo:
        ensure_data(repo, root)
        repo.reproduce()
    yield root
    patch.undo()


def would_run(root: Path) -> list[str]:
    with open_repo(root) as repo:
        return [stage.addressing for stage in repo.reproduce(dry=True) if stage.cmd]


def ran(root: Path) -> list[str]:
    with open_repo(root) as repo:
        return [stage.addressing for stage in repo.reproduce() if stage.cmd]


def edit(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return text


def test_a_fresh_clone_reproduces_the_committed_metrics(clone: Path) -> None:
    committed = json.loads((REPO_ROOT / "reports" / "metrics.json").read_text())
    assert json.loads((clone / "reports" / "metrics.json").read_text()) == committed
    assert would_run(clone) == []


@pytest.mark.parametrize(
    ("key", "old", "new", "stage"),
    [
        ("evaluate.threshold", "threshold: 0.5", "threshold: 0.6", "evaluate"),
        ("train.C", "C: 1.0", "C: 0.5", "train"),
        ("prepare.seed", "seed: 42", "seed: 7", "prepare"),
    ],
)
def test_changing_one_hyperparameter_reruns_only_the_step_that_reads_it(
    clone: Path, key: str, old: str, new: str, stage: str
) -> None:
    params = clone / "params.yaml"
    original = edit(params, old, new)
    try:
        assert would_run(clone) == [stage], key
    finally:
        params.write_text(original)


def test_changing_a_steps_code_reruns_it_and_its_dependants_only(clone: Path) -> None:
    step = clone / "ml" / "steps" / "train.py"
    original = edit(step, "StandardScaler()", "StandardScaler(with_std=False)")
    try:
        assert ran(clone) == ["train", "evaluate", "export"]
    finally:
        step.write_text(original)
        ran(clone)
