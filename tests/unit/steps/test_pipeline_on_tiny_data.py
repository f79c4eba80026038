"""The three steps, run as DVC and Azure ML run them (`python -m ml.steps.*`), on a tiny synthetic dataset."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.data.synthetic import synthetic_frame

METRICS = {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}


def run_step(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd}/mlflow.db", "EDGE_TRAIN_ROOT": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def run_all(workdir: Path) -> dict[str, float]:
    (workdir / "params.yaml").write_text("{}\n")
    raw = workdir / "raw"
    raw.mkdir()
    synthetic_frame(rows=120, seed=7).to_csv(raw / "data.csv", index=False)
    for module, args in [
        (
            "ml.steps.prepare",
            ["--raw-data", "raw", "--prepared", "prepared", "--test-size", "0.25", "--seed", "1"],
        ),
        ("ml.steps.train", ["--prepared", "prepared", "--model", "model", "--C", "0.5"]),
        (
            "ml.steps.evaluate",
            ["--prepared", "prepared", "--model", "model", "--metrics", "metrics.json", "--plots", "plots"],
        ),
    ]:
        result = run_step(module, *args, cwd=workdir)
        assert result.returncode == 0, result.stderr
    return json.loads((workdir / "metrics.json").read_text())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, dict, dict]:
    first = tmp_path_factory.mktemp("first")
    second = tmp_path_factory.mktemp("second")
    return first, run_all(first), run_all(second)


def test_evaluate_writes_every_metric_between_zero_and_one(two_runs):
    _, metrics, _ = two_runs
    assert set(metrics) == METRICS
    assert all(0.0 <= value <= 1.0 for name, value in metrics.items() if name != "log_loss")


def test_two_runs_on_the_same_data_give_identical_metrics(two_runs):
    _, first, second = two_runs
    assert first == second


def test_train_saves_an_mlflow_model_whose_example_is_synthetic(two_runs):
    workdir, _, _ = two_runs
    model = workdir / "model"
    assert (model / "MLmodel").is_file()
    assert "signature:" in (model / "MLmodel").read_text()
    example = json.loads((model / "serving_input_example.json").read_text())
    rows = example["dataframe_split"]["data"]
    assert rows == [[1.0] * 30, [2.0] * 30]  # made-up values, never a patient's


def test_plots_hold_curves_and_confusion_counts_in_dvc_format(two_runs):
    workdir, _, _ = two_runs
    roc = json.loads((workdir / "plots" / "roc.json").read_text())
    assert roc[0].keys() == {"fpr", "tpr", "threshold"}
    confusion = json.loads((workdir / "plots" / "confusion.json").read_text())
    assert confusion == sorted(confusion, key=lambda row: (row["actual"], row["predicted"]))


def test_a_step_with_bad_input_exits_non_zero_with_the_error_and_no_traceback(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "data.csv").write_text("")
    result = run_step("ml.steps.prepare", "--raw-data", "raw", "--prepared", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert "data.csv: the file is empty" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
