"""MLflow logging for the steps: params and aggregate metrics only, never rows of data.

Locally the store is `sqlite:///mlflow.db` at the repository root. Inside an Azure ML job the service sets
MLFLOW_TRACKING_URI=azureml://... (served by the azureml-mlflow plugin in the job environment) and
MLFLOW_RUN_ID, the run it created for the node: `start_run` resumes that run, so params and metrics appear
on the node in the studio. The experiment is the job's; calling `set_experiment` there could name another one,
and MLflow refuses to resume a run outside the active experiment, so it is only called when no run is given.

Under `edge-train run` the steps do not touch MLflow at all: importing it and opening the store cost about
3 s of CPU per step, more than the work at 10k rows. Each step writes its run (params, aggregate metrics,
tags, start and end time) to a spool folder the runner made, and the runner logs them in one batch after
`dvc repro` (`spooled_logging`). A step run by hand or by Azure ML logs directly, as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from ml.errors import EdgeTrainError

PIPELINE_RUN_ENV = "EDGE_TRAIN_PIPELINE_RUN"
SPOOL_ENV = "EDGE_TRAIN_TRACKING_SPOOL"
"""Set by `spooled_logging`: the folder where steps leave their runs for the runner to log."""
STARTED_MS = int(time.time() * 1000)
"""When this process started (imported with the step, before its work): the step's run starts here."""
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
) -> str | None:
    """Log one step as an MLflow run tagged with the step and the pipeline run; return the run id (None
    when the run is spooled for the runner to log)."""
    tags = {"edge_train.step": step, **(extra_tags or {})}
    if os.environ.get(PIPELINE_RUN_ENV):
        tags["edge_train.pipeline_run"] = os.environ[PIPELINE_RUN_ENV]
    flat_metrics = {k: float(v) for k, v in metrics.items()}
    spool = os.environ.get(SPOOL_ENV)
    if spool and not os.environ.get("MLFLOW_RUN_ID"):
        from ml.atomic import atomic_write_json

        record = {
            "step": step,
            "params": {k: str(v) for k, v in params.items()},
            "metrics": flat_metrics,
            "tags": tags,
            "start_ms": STARTED_MS,
            "end_ms": int(time.time() * 1000),
        }
        atomic_write_json(Path(spool) / f"{time.time_ns()}-{step}.json", record)
        return None
    uri = configure_mlflow()
    import mlflow

    with tracking_errors(uri):
        if not os.environ.get("MLFLOW_RUN_ID"):  # in an Azure ML job the service made the run: log into it
            mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment_name())
        with mlflow.start_run(run_name=step, tags=tags, nested=mlflow.active_run() is not None) as run:
            mlflow.log_params(dict(params))
            mlflow.log_metrics(flat_metrics)
            return run.info.run_id


@contextlib.contextmanager
def spooled_logging() -> Iterator[None]:
    """Steps started inside leave their runs in a temp folder; they are logged in one batch on the way out.

    Also after a failure, so the steps that finished are on record; an MLflow error then does not hide the
    failure that ended the pipeline. Nothing spooled (every stage up to date): MLflow is not even imported.
    Once the first step has finished, a thread imports MLflow and opens the store while the next steps run,
    so on a machine with a free core the batch at the end costs almost nothing.
    """
    if os.environ.get("MLFLOW_RUN_ID") or os.environ.get(SPOOL_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="edge-train-runs-") as folder:
        os.environ[SPOOL_ENV] = folder
        stop = threading.Event()
        threading.Thread(target=_warm_up_when_spooled, args=(Path(folder), stop), daemon=True).start()
        try:
            yield
        except BaseException:
            stop.set()
            os.environ.pop(SPOOL_ENV, None)
            with contextlib.suppress(EdgeTrainError):
                log_spooled(Path(folder))
            raise
        stop.set()
        os.environ.pop(SPOOL_ENV, None)
        log_spooled(Path(folder))


_warm_lock = threading.Lock()


def _warm_up_when_spooled(folder: Path, stop: threading.Event) -> None:
    """Import MLflow and open its store as soon as a step has spooled a run (best effort: any failure here
    is met again, and reported, by `log_spooled`)."""
    while not stop.is_set() and not any(folder.glob("*.json")):
        stop.wait(0.2)
    if stop.is_set():
        return
    with _warm_lock, contextlib.suppress(Exception):
        uri = configure_mlflow()
        import mlflow

        mlflow.MlflowClient(uri).search_experiments(max_results=1)


def log_spooled(folder: Path) -> list[str]:
    """Log the spooled runs in the order the steps finished, each with its own start and end time."""
    records = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    if not records:
        return []
    with _warm_lock:  # a warm-up under way finishes first (its imports are then done)
        uri = configure_mlflow()
    import mlflow
    from mlflow.entities import Metric, Param

    client = mlflow.MlflowClient(uri)
    run_ids = []
    with tracking_errors(uri):
        experiment = mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment_name())
        for record in records:
            run = client.create_run(
                experiment.experiment_id,
                start_time=record["start_ms"],
                tags=record["tags"],
                run_name=record["step"],
            )
            run_id = run.info.run_id
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, record["end_ms"], 0) for k, v in record["metrics"].items()],
                params=[Param(k, v) for k, v in record["params"].items()],
            )
            client.set_terminated(run_id, end_time=record["end_ms"])
            run_ids.append(run_id)
    return run_ids
