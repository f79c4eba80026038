"""MLflow logging for the steps: params and aggregate metrics only, never rows of data.

Locally the store is `sqlite:///mlflow.db` at the repository root. Inside an Azure ML job the service sets
MLFLOW_TRACKING_URI=azureml://... (served by the azureml-mlflow plugin in the job environment) and
MLFLOW_RUN_ID, the run it created for the node: `start_run` resumes that run, so params and metrics appear
on the node in the studio. The experiment is the job's; calling `set_experiment` there could name another one,
and MLflow refuses to resume a run outside the active experiment, so it is only called when no run is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PIPELINE_RUN_ENV = "EDGE_TRAIN_PIPELINE_RUN"


def configure_mlflow(root: Path | None = None) -> str:
    """Point MLflow at the configured store (env var first) and return the URI; quiet and telemetry-free."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        from ml.config import load_settings
        from ml.paths import repo_root

        base = root or repo_root()
        uri = load_settings(base).tracking.uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            uri = f"sqlite:///{(base / uri.removeprefix('sqlite:///')).as_posix()}"
    mlflow.set_tracking_uri(uri)
    return uri


def experiment_name(root: Path | None = None) -> str:
    from ml.config import load_settings
    from ml.paths import repo_root

    return load_settings(root or repo_root()).model.name


def log_step(step: str, params: Mapping[str, object], metrics: Mapping[str, float]) -> str:
    """Log one step as an MLflow run tagged with the step and the pipeline run; return the run id."""
    configure_mlflow()
    import mlflow

    if not os.environ.get("MLFLOW_RUN_ID"):
        mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment_name())
    tags = {"edge_train.step": step}
    if os.environ.get(PIPELINE_RUN_ENV):
        tags["edge_train.pipeline_run"] = os.environ[PIPELINE_RUN_ENV]
    with mlflow.start_run(run_name=step, tags=tags, nested=mlflow.active_run() is not None) as run:
        mlflow.log_params(dict(params))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        return run.info.run_id
