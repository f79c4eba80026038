"""Every step that writes metrics has its MLflow run, also when DVC restored the step instead of running it.

On a fresh clone DVC finds the committed metrics file matching dvc.lock and skips `evaluate`: its metrics
then existed only in git (and as tags on the registered model), and the MLflow store had no evaluate run to
compare. After the pipeline, a stage that did not run and whose metrics no MLflow run holds gets one, logged
from the metrics file and tagged `edge_train.restored`. `.edge-train/state.json` remembers which metrics
file each stage's run holds, so an unchanged run does not import MLflow; without it MLflow is asked.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ml import console

if TYPE_CHECKING:
    from dvc.repo import Repo
    from dvc.stage import Stage

STATE_KEY = "logged_metrics"
RESTORED_TAG = "edge_train.restored"


def log_restored_steps(repo: Repo, root: Path, ran: list[str]) -> None:
    """Give each metrics-writing stage that DVC skipped an MLflow run, unless one holds its metrics."""
    from ml.state import read_state, update_state

    logged = dict(read_state(root).get(STATE_KEY, {}))
    before = dict(logged)
    for stage in repo.index.stages:
        files = [Path(out.fs_path) for out in stage.outs if out.is_metric and Path(out.fs_path).is_file()]
        if not stage.cmd or not files:
            continue
        digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()
        if logged.get(stage.addressing) == digest:
            continue
        if stage.addressing not in ran:
            metrics = logged_metrics(files)
            if metrics and not _has_run(stage.addressing, metrics):
                _log(stage, metrics, files, root)
        logged[stage.addressing] = digest
    if logged != before:
        update_state(root, **{STATE_KEY: logged})


def logged_metrics(files: list[Path]) -> dict[str, float]:
    """The numbers at the top level of the metrics files (what the step logs)."""
    found: dict[str, float] = {}
    for path in files:
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        if isinstance(values, dict):
            found.update(
                {
                    k: float(v)
                    for k, v in values.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
            )
    return found


def _has_run(step: str, metrics: dict[str, float]) -> bool:
    """Whether a run of `step` in this experiment logged these metrics (to the metrics file's precision)."""
    import mlflow

    from ml.tracking import configure_mlflow, experiment_name, tracking_errors

    with tracking_errors(configure_mlflow()):
        experiment = mlflow.get_experiment_by_name(experiment_name())
        if experiment is None:
            return False
        runs = mlflow.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`edge_train.step` = '{step}'",
            output_format="list",
        )
    return any(
        all(math.isclose(run.data.metrics.get(k, math.nan), v, rel_tol=1e-8) for k, v in metrics.items())
        for run in runs
    )


def _log(stage: Stage, metrics: dict[str, float], files: list[Path], root: Path) -> None:
    from dvc.dependency.param import ParamsDependency

    from ml.tracking import log_step

    params: dict[str, object] = {}
    for dep in stage.deps:
        if isinstance(dep, ParamsDependency):
            params.update({key.rsplit(".", 1)[-1]: value for key, value in dep.read_params().items()})
    shown = ", ".join(path.relative_to(root).as_posix() for path in files)
    log_step(stage.addressing, params, metrics, {RESTORED_TAG: f"from {shown}: DVC restored the step"})
    console.done(
        f"logged the {stage.addressing} metrics to MLflow from {shown} (DVC did not need to re-run it)"
    )
