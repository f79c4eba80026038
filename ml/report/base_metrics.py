"""Where the base side's metrics come from: the newest published version the base contains, else a fallback.

Every version tag `<model>@vX.Y.Z` carries the metrics of the model it names (`metric.*` lines in the tag
annotation, the same tags in the registries) and where they were computed (`pipeline_run`, `data_hash`).
So the base of a pull request is the newest version reachable from the base branch: what production was
trained on, with the data it saw. Without one (a new fork, history without tags), the base falls back to
`reports/metrics.json` committed at the base, and then to the registry's `production` model, and the
report says which it used. `comparable` says whether the base ran on the same kind of data as this run:
when it did not, the `max_drop` rules cannot be judged and the gate says so instead of pretending.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ml.paths import METRICS_FILE
from ml.report import gitrev

PRODUCTION_ALIAS = "production"
METRIC_PREFIX = "metric."


@dataclass(frozen=True)
class BaseMetrics:
    metrics: dict | None
    source: str
    ran_on: str | None = None  # "edge" | "local" when known
    data_hash: str | None = None  # the data the base metrics were computed on, when known


def find_base_metrics(root: Path, commit: str | None) -> BaseMetrics:
    if commit is not None:
        published = version_metrics(root, commit)
        if published is not None:
            return published
        text = gitrev.show(root, commit, METRICS_FILE)
        if text is not None:
            try:
                metrics = json.loads(text)
            except json.JSONDecodeError:
                metrics = None
            if isinstance(metrics, dict):
                return BaseMetrics(
                    metrics,
                    f"`{METRICS_FILE}` committed at `{commit[:7]}` (fallback: no published version is "
                    "reachable from the base)",
                    data_hash=_data_hash_at(root, commit),
                )
    registered = production_metrics(root)
    if registered is not None:
        return registered
    where = f"at `{commit[:7]}`" if commit else "for the base"
    return BaseMetrics(
        None,
        f"none: no published version reachable from the base, no `{METRICS_FILE}` {where} and no "
        f"`{PRODUCTION_ALIAS}` model in the registry (first report of a fork?)",
    )


def version_metrics(root: Path, commit: str) -> BaseMetrics | None:
    """Metrics in the annotation of the newest version tag whose commit the base contains."""
    from ml.config import load_settings
    from ml.release.version import list_versions

    name = load_settings(root).model.name
    merged = subprocess.run(
        ["git", "tag", "--merged", commit, "--list", f"{name}@v*"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    reachable = [v for v in list_versions(root, name) if v.tag in merged]
    for version in reversed(reachable):
        metrics = {
            key.removeprefix(METRIC_PREFIX): float(value)
            for key, value in version.fields.items()
            if key.startswith(METRIC_PREFIX)
        }
        if metrics:
            run = version.fields.get("pipeline_run", "")
            return BaseMetrics(
                metrics,
                f"version `{version.tag}` (the newest published version on the base; its tag records them)",
                ran_on="local" if run in ("", "local") else "edge",
                data_hash=version.fields.get("data_hash"),
            )
    return None


def _data_hash_at(root: Path, commit: str) -> str | None:
    import yaml

    text = gitrev.show(root, commit, "data.dvc")
    try:
        return str(yaml.safe_load(text)["outs"][0]["md5"]).removesuffix(".dir") if text else None
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def comparable(base: BaseMetrics, ran_on: str, data_hash: str | None) -> str | None:
    """Why the base is not like for like with this run (None when it is, or when nothing says otherwise)."""
    if base.ran_on == "edge" and ran_on != "edge":
        return (
            f"the base was trained on the {base.ran_on} data and this run on the {ran_on} data: the "
            "metrics are shown side by side, but a drop between them means nothing"
        )
    if base.data_hash and data_hash and base.data_hash != data_hash:
        return (
            f"the base was trained on other data (data {base.data_hash[:8]}) than this run "
            f"(data {data_hash[:8]}): a drop between them is not judged"
        )
    return None


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
        key.removeprefix(METRIC_PREFIX): float(value)
        for key, value in version.tags.items()
        if key.startswith(METRIC_PREFIX)
    }
    if not metrics:
        return None
    return BaseMetrics(
        metrics,
        f"registry tags of `{name}` version {version.version} (`{PRODUCTION_ALIAS}`)",
        data_hash=version.tags.get("edge_train.data_hash"),
    )


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
