"""A fork brings its own table: `init --data` and a commit, then the run, ONNX parity, the report and the
gate work, and the suite passes in the fork, for a binary, a multiclass and a regression table, each with
numeric, boolean and categorical features and missing values, with no other edit.

`make run` is `edge-train run` in the fork's own venv; here the same command runs with this interpreter in
the fork (its own `ml` package), which spares three venv installs. The suite run in the fork is the tests
that exercise the steps, the model, the portable export, compile and the report (the rest do not read the
data); the full suite takes ~10 minutes per fork on a 2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration.clone import edge_train, fresh_clone

pytestmark = [pytest.mark.slow, pytest.mark.integration]

LABELS = {"binary": "churned", "multiclass": "grade", "regression": "price"}
HEADLINE = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}
FORK_SUITE = [
    "tests/unit/steps",
    "tests/unit/release/test_portable.py",
    "tests/unit/serving/test_server.py",
    "tests/unit/pipeline/test_compile.py",
    "tests/unit/test_params_declared_once.py",
    "tests/unit/test_dvc_lock_is_current.py",
    "tests/unit/report",
]


def own_table(task: str, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "member_id": np.arange(rows) + 5000,
            "age": rng.integers(18, 90, rows).astype(float),
            "weight kg": rng.normal(75, 12, rows).round(1),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "smoker": rng.choice(["true", "false"], rows),
        }
    )
    signal = (frame["weight kg"] - 75) / 12 + (frame["region"] == "east") * 1.5 + rng.normal(0, 0.4, rows)
    frame.loc[rng.random(rows) < 0.06, "age"] = np.nan
    frame.loc[rng.random(rows) < 0.06, "region"] = None
    if task == "binary":
        frame["churned"] = np.where(signal > 0.3, "yes", "no")
    elif task == "multiclass":
        frame["grade"] = pd.cut(signal, [-99, -0.5, 0.6, 99], labels=["A", "B", "C"]).astype(str)
    else:
        frame["price"] = (100 + 20 * signal).round(2)
    return frame


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module", params=sorted(LABELS))
def fork(request, tmp_path_factory) -> tuple[str, Path, subprocess.CompletedProcess[str]]:
    task = request.param
    base = tmp_path_factory.mktemp(f"fork-{task}")
    root = fresh_clone(base / "repo")
    git(root, "commit", "-q", "-am", "the template as forked", "--allow-empty")
    table = base / "mine.csv"
    own_table(task).to_csv(table, index=False)
    init = edge_train(
        root, "init", "--data", str(table), "--label", LABELS[task], "--model-name", f"{task}-model"
    )
    assert init.returncode == 0, init.stderr
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Train on my data")
    return task, root, edge_train(root, "run")


def test_init_decides_the_task_and_the_run_is_green(fork) -> None:
    task, root, run = fork
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert f"task: {task}" in (root / "ml/steps/schema.yaml").read_text()
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert metrics[HEADLINE[task]] > 0.5


def test_the_portable_model_agrees_with_the_native_one(fork) -> None:
    _, root, _ = fork
    parity = json.loads((root / "artifacts/portable/parity.json").read_text())
    assert parity["max_abs_diff"] < 1e-5


def test_the_model_experiment_and_image_carry_the_forks_name(fork) -> None:
    task, root, run = fork
    assert f"registered {task}-model version 1" in run.stdout
    assert f'name = "edge-train/{task}-model"' in (root / "edge-train.toml").read_text()


def test_the_report_and_the_gate_work_between_two_runs(fork) -> None:
    task, root, _ = fork
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first run", "--allow-empty")
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("  max_iter: 500", "  max_iter: 400"))
    assert edge_train(root, "run").returncode == 0
    report = edge_train(root, "report", "--base", "HEAD", "--check")
    assert report.returncode == 0, report.stdout + report.stderr
    assert f"Task: **{task}**" in (root / ".edge-train" / "report.md").read_text()


def test_the_suite_passes_in_the_fork(fork) -> None:
    _, root, _ = fork
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "second run", "--allow-empty")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *FORK_SUITE],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
