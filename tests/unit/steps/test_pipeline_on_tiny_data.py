"""The three steps, run as DVC and Azure ML run them (`python -m ml.steps.*`), on tiny synthetic data of
every task, with numeric, boolean and categorical features and missing values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.data.synthetic import synthetic_frame
from ml.steps.evaluate import PLOTS
from ml.steps.schema import SCHEMA_ENV
from ml.steps.tables import typed
from tests.harness.schemas import SCHEMAS, write_schema

METRICS = {
    "binary": {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"},
    "multiclass": {"accuracy", "f1_macro", "f1_weighted", "roc_auc_ovr", "log_loss", "per_class"},
    "regression": {"rmse", "mae", "r2", "mape"},
}


def run_step(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd}/mlflow.db", "EDGE_TRAIN_ROOT": str(cwd)}
    if (cwd / "schema.yaml").is_file():
        env[SCHEMA_ENV] = str(cwd / "schema.yaml")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def run_all(workdir: Path, task: str, estimator: str = "linear") -> dict:
    (workdir / "params.yaml").write_text("{}\n")
    write_schema(workdir, SCHEMAS[task])
    raw = workdir / "raw"
    raw.mkdir()
    synthetic_frame(rows=160, seed=7, schema=SCHEMAS[task], missing=0.05).to_csv(
        raw / "data.csv", index=False
    )
    for module, args in [
        (
            "ml.steps.prepare",
            ["--raw-data", "raw", "--prepared", "prepared", "--test-size", "0.25", "--seed", "1"],
        ),
        (
            "ml.steps.train",
            ["--prepared", "prepared", "--model", "model", "--C", "0.5", "--estimator", estimator],
        ),
        (
            "ml.steps.evaluate",
            ["--prepared", "prepared", "--model", "model", "--metrics", "metrics.json", "--plots", "plots"],
        ),
    ]:
        result = run_step(module, *args, cwd=workdir)
        assert result.returncode == 0, result.stderr
    return json.loads((workdir / "metrics.json").read_text())


@pytest.fixture(scope="module", params=sorted(SCHEMAS))
def one_run(request, tmp_path_factory) -> tuple[str, Path, dict]:
    task = request.param
    workdir = tmp_path_factory.mktemp(task)
    return task, workdir, run_all(workdir, task)


def test_evaluate_writes_the_metrics_of_the_task(one_run):
    task, _, metrics = one_run
    assert set(metrics) == METRICS[task]
    if task != "regression":
        assert all(
            0.0 <= value <= 1.0 for name, value in metrics.items() if name not in {"log_loss", "per_class"}
        )


def test_the_model_learns_something_from_synthetic_data(one_run):
    task, _, metrics = one_run
    headline = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}[task]
    assert metrics[headline] > {"binary": 0.7, "multiclass": 0.45, "regression": 0.3}[task]


@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_the_same_data_and_params_give_the_same_bytes(tmp_path, task):
    """DVC skips a stage downstream of an unchanged one only if its outputs hash the same."""
    from ml.modelio import save_mlflow_model
    from ml.steps.prepare import split
    from ml.steps.tables import write_parquet
    from ml.steps.train import fit

    schema = SCHEMAS[task]
    frame = typed(synthetic_frame(rows=120, seed=5, schema=schema), schema)
    for run in ("first", "second"):
        train, _ = split(frame, 0.25, 1, schema)
        write_parquet(train, tmp_path / f"{run}.parquet")
        save_mlflow_model(fit(train, schema), tmp_path / run, schema)
    assert (tmp_path / "first.parquet").read_bytes() == (tmp_path / "second.parquet").read_bytes()
    assert (tmp_path / "first" / "model.skops").read_bytes() == (
        tmp_path / "second" / "model.skops"
    ).read_bytes()


def test_prepared_data_keeps_column_types(one_run):
    import pandas as pd

    _, workdir, _ = one_run
    test = pd.read_parquet(workdir / "prepared" / "test.parquet")
    assert pd.api.types.is_string_dtype(test["region"])  # categories stay text
    assert test["age"].dtype == "float64"
    assert test["smoker"].dtype == "float64"  # booleans become 0/1 for the model


def test_train_saves_an_mlflow_model_whose_example_is_synthetic(one_run):
    _, workdir, _ = one_run
    model = workdir / "model"
    assert "signature:" in (model / "MLmodel").read_text()
    example = json.loads((model / "serving_input_example.json").read_text())
    assert example["dataframe_split"]["data"][0] == [1.0, 1.0, 1.0, "north", "basic"]  # made up, never a row


def test_plots_are_the_files_of_the_task_and_hold_no_rows(one_run):
    task, workdir, _ = one_run
    assert {p.name for p in (workdir / "plots").iterdir()} == set(PLOTS[task])
    if task == "regression":
        binned = json.loads((workdir / "plots" / "predicted_vs_actual.json").read_text())
        assert len(binned) <= 20  # bins, not one point per row
    else:
        confusion = json.loads((workdir / "plots" / "confusion.json").read_text())
        assert len(confusion) <= len(SCHEMAS[task].classes) ** 2  # counts per (actual, predicted) pair
        assert all(set(cell) == {"actual", "predicted", "count"} for cell in confusion)


@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_the_forest_trains_for_every_task(task):
    from ml.steps.train import fit

    schema = SCHEMAS[task]
    frame = typed(synthetic_frame(rows=120, seed=3, schema=schema, missing=0.05), schema)
    model = fit(frame, schema, estimator="forest", n_estimators=10)
    assert model.score(frame[schema.names], frame[schema.label]) > 0.5


def test_a_step_with_bad_input_exits_non_zero_with_the_error_and_no_traceback(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "data.csv").write_text("")
    result = run_step("ml.steps.prepare", "--raw-data", "raw", "--prepared", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert "data.csv: the file is empty" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
