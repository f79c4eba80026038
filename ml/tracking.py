"""MLflow logging for the steps: params and aggregate metrics only, never rows of data.

Locally the store is `sqlite:///mlflow.db` at the repository root. Inside an Azure ML job the service sets
MLFLOW_TRACKING_URI=azureml://... (served by the azureml-mlflow plugin in the job environment) and
MLFLOW_RUN_ID, the run it created for the node: `start_run` resumes that run, so params and metrics appear
on the node in the studio. The experiment is the job's; calling `set_experiment` there could name another one,
and MLflow refuses to resume a run outside the active experiment, so it is only called when no run is given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ml.errors import EdgeTrainError

PIPELINE_RUN_ENV = "EDGE_TRAIN_PIPELINE_RUN"
# MLflow's own defaults wait 120 s per request and retry 7 times with doubling backoff: a tracking server
# that never answers held `make run` for over 300 s. These bound one call to 3 tries of 4 s plus 3 s of
# backoff (15 s); the environment still wins, for a slow server that needs more.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "4",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
}
QUIET = {"MLFLOW_LOGGING_LEVEL": "WARNING"}


def configure_mlflow(root: Path | None = None) -> str:
    """Point MLflow at the configured store (env var first) and return the URI; quiet, telemetry-free and
    bounded in time."""
    from ml.telemetry import disable_telemetry

    disable_telemetry()
    for key, value in {**QUIET, **HTTP_LIMITS}.items():
        os.environ.setdefault(key, value)
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


@contextlib.contextmanager
def tracking_errors(uri: str) -> Iterator[None]:
    """MLflow's failures to reach its store as one `EdgeTrainError` naming the setting, not a traceback."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        from ml.redact import mask_secrets

        cause = " ".join(str(exc).split())[:300]
        source = "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "[tracking] uri"
        raise EdgeTrainError(
            f"MLflow tracking store {mask_secrets(uri)} failed: {cause}",
            hint=f"check {source} (edge-train.toml or the environment) and that the server answers; "
            "MLFLOW_HTTP_REQUEST_TIMEOUT / MLFLOW_HTTP_REQUEST_MAX_RETRIES bound the wait",
        ) from None


def log_step(
    step: str,
    params: Mapping[str, object],
    metrics: Mapping[str, float],
    extra_tags: Mapping[str, str] | None = None,
) -> str:
    """Log one step as an MLflow run tagged with the step and the pipeline run; return the run id."""
    uri = configure_mlflow()
    import mlflow

    tags = {"edge_train.step": step, **(extra_tags or {})}
    if os.environ.get(PIPELINE_RUN_ENV):
        tags["edge_train.pipeline_run"] = os.environ[PIPELINE_RUN_ENV]
    with tracking_errors(uri):
        if not os.environ.get("MLFLOW_RUN_ID"):  # in an Azure ML job the service made the run: log into it
            mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment_name())
        with mlflow.start_run(run_name=step, tags=tags, nested=mlflow.active_run() is not None) as run:
            mlflow.log_params(dict(params))
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            return run.info.run_id
