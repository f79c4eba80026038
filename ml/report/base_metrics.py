"""Where the base side's metrics come from: the metrics committed at the base, else the production model.

`reports/metrics.json` is a DVC metric with `cache: false`, so every commit that trained carries its metrics
in git: `git show <base>:reports/metrics.json` is the primary source and needs no credentials. A fork whose
base has no committed metrics (history rewritten, metrics file moved) falls back to the `metric.*` tags the
release step puts on the model version the registry calls `production`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ml.paths import METRICS_FILE
from ml.report import gitrev

PRODUCTION_ALIAS = "production"


@dataclass(frozen=True)
class BaseMetrics:
    metrics: dict | None
    source: str


def find_base_metrics(root: Path, commit: str | None) -> BaseMetrics:
    if commit is not None:
        text = gitrev.show(root, commit, METRICS_FILE)
        if text is not None:
            try:
                return BaseMetrics(json.loads(text), f"`{METRICS_FILE}` committed at `{commit[:7]}`")
            except json.JSONDecodeError:
                pass
    registered = production_metrics(root)
    if registered is not None:
        return registered
    where = f"at `{commit[:7]}`" if commit else "for the base"
    return BaseMetrics(
        None,
        f"none: no `{METRICS_FILE}` {where} and no `{PRODUCTION_ALIAS}` model "
        "in the registry (first report of a fork?)",
    )


def production_metrics(root: Path) -> BaseMetrics | None:
    """`metric.*` tags of the production model version, when a registry is configured and has one."""
    if not _registry_configured(root):
        return None
    from ml.config import load_settings
    from ml.tracking import configure_mlflow

    configure_mlflow(root)
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    name = load_settings(root).model.name
    try:
        version = MlflowClient().get_model_version_by_alias(name, PRODUCTION_ALIAS)
    except MlflowException:
        return None
    metrics = {
        key.removeprefix("metric."): float(value)
        for key, value in version.tags.items()
        if key.startswith("metric.")
    }
    if not metrics:
        return None
    return BaseMetrics(metrics, f"registry tags of `{name}` version {version.version} (`{PRODUCTION_ALIAS}`)")


def _registry_configured(root: Path) -> bool:
    """Avoid creating an empty local store (and importing MLflow) just to find nothing in it."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return True
    from ml.config import load_settings

    uri = load_settings(root).tracking.uri
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        return (path if path.is_absolute() else root / path).is_file()
    return True
