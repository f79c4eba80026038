"""The steps log to the store they are given: local sqlite, or the run Azure ML created for the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.tracking import log_step


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    return uri


def test_locally_each_step_is_a_run_in_the_models_experiment(store, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "local-experiment")
    run_id = log_step("train", {"C": 1.0}, {"train_accuracy": 0.9})
    run = mlflow.MlflowClient(store).get_run(run_id)
    assert mlflow.MlflowClient(store).get_experiment(run.info.experiment_id).name == "local-experiment"
    assert run.data.metrics == {"train_accuracy": 0.9}


def test_in_a_job_the_step_logs_into_the_run_the_service_created(store, monkeypatch):
    """Azure ML creates the node's run in the job's experiment and hands it over in MLFLOW_RUN_ID; naming
    another experiment (as set_experiment would) must not make MLflow refuse to resume it."""
    import mlflow

    client = mlflow.MlflowClient(store)
    job_experiment = client.create_experiment("the-jobs-experiment")
    service_run = client.create_run(job_experiment).info.run_id
    monkeypatch.setenv("MLFLOW_RUN_ID", service_run)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "some-other-experiment")
    assert log_step("prepare", {"seed": 42}, {"rows_train": 455}) == service_run
    run = client.get_run(service_run)
    assert run.data.params == {"seed": "42"}
    assert run.data.metrics == {"rows_train": 455.0}
    assert client.get_experiment_by_name("some-other-experiment") is None


def test_under_the_runner_steps_spool_their_runs_and_the_runner_logs_them_in_one_batch(store, monkeypatch):
    """`edge-train run` spares every step MLflow's import and store: the runs reach the store on its way out,
    with the step's tags, params, metrics and its own start and end time."""
    import mlflow

    from ml.tracking import PIPELINE_RUN_ENV, spooled_logging

    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "local-experiment")
    monkeypatch.setenv(PIPELINE_RUN_ENV, "local-abc")
    with spooled_logging():
        assert log_step("prepare", {"seed": 42}, {"rows_train": 455}) is None
        assert log_step("train", {"C": 1.0}, {"train_accuracy": 0.9}) is None
        assert mlflow.MlflowClient(store).get_experiment_by_name("local-experiment") is None
    client = mlflow.MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("local-experiment").experiment_id])
    by_step = {run.data.tags["edge_train.step"]: run for run in runs}
    assert set(by_step) == {"prepare", "train"}
    assert by_step["train"].data.params == {"C": "1.0"}
    assert by_step["train"].data.metrics == {"train_accuracy": 0.9}
    assert by_step["prepare"].data.tags["edge_train.pipeline_run"] == "local-abc"
    assert by_step["prepare"].info.run_name == "prepare"
    assert by_step["prepare"].info.status == "FINISHED"
    assert by_step["prepare"].info.start_time <= by_step["prepare"].info.end_time


def test_a_pipeline_that_fails_still_logs_the_steps_that_finished(store, monkeypatch):
    import mlflow

    from ml.tracking import spooled_logging

    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "local-experiment")
    with pytest.raises(RuntimeError, match="evaluate failed"), spooled_logging():
        log_step("prepare", {"seed": 42}, {"rows_train": 455})
        raise RuntimeError("evaluate failed")
    client = mlflow.MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("local-experiment").experiment_id])
    assert [run.info.run_name for run in runs] == ["prepare"]


def test_a_spooled_step_does_not_import_mlflow(tmp_path, store):
    """The point of the spool: a step under `edge-train run` never pays for MLflow's import (issue 13)."""
    import os
    import subprocess
    import sys

    from ml.tracking import SPOOL_ENV

    script = (
        "import sys; from ml.tracking import log_step; "
        "assert log_step('prepare', {'seed': 42}, {'rows_train': 455}) is None; "
        "assert 'mlflow' not in sys.modules, 'mlflow imported'"
    )
    env = {**os.environ, SPOOL_ENV: str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [p.name.endswith("-prepare.json") for p in tmp_path.glob("*.json")] == [True]
