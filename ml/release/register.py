"""Register the trained model in the MLflow model registry, once per model identity (idempotent)."""

from __future__ import annotations

import os
from pathlib import Path

from ml import console
from ml.config import load_settings
from ml.errors import EdgeTrainError
from ml.lineage import Lineage, read_lineage
from ml.paths import MODEL_DIR
from ml.state import read_state, update_state
from ml.tracking import PIPELINE_RUN_ENV, configure_mlflow, tracking_errors


def register_local(root: Path) -> str:
    """Register artifacts/model with its lineage; return the version (existing one if already registered)."""
    if not (root / MODEL_DIR / "MLmodel").is_file():
        raise EdgeTrainError(
            f"no trained model in {MODEL_DIR}/", hint="run `edge-train run` to train it first"
        )
    lineage = read_lineage(root, os.environ.get(PIPELINE_RUN_ENV))
    name = load_settings(root).model.name
    cached = read_state(root).get("registered", {})
    if cached.get("model_hash") == lineage.model_hash and cached.get("name") == name:
        console.skipped(
            f"register {name}",
            f"this model is already version {cached['version']} (identity {lineage.model_hash[:12]})",
        )
        return str(cached["version"])
    version, created = _register_in_mlflow(root, name, lineage)
    update_state(root, registered={"name": name, "version": version, "model_hash": lineage.model_hash})
    if created:
        console.done(f"registered {name} version {version} in the MLflow model registry")
    else:
        console.skipped(f"register {name}", f"the registry already has this model as version {version}")
    return version


def _register_in_mlflow(root: Path, name: str, lineage: Lineage) -> tuple[str, bool]:
    from ml.mlflow_store import follow_move

    follow_move(root)  # a moved checkout's store would log the model's artifacts into the old folder
    with tracking_errors(configure_mlflow(root)):
        return _register_with(root, name, lineage)


def _register_with(root: Path, name: str, lineage: Lineage) -> tuple[str, bool]:
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    existing = client.search_model_versions(
        f"name = '{name}' and tags.`edge_train.model_hash` = '{lineage.model_hash}'"
    )
    if existing:
        return str(existing[0].version), False
    mlflow.set_experiment(name)
    with mlflow.start_run(run_name="register", tags=lineage.tags()) as run:
        mlflow.log_artifacts(str(root / MODEL_DIR), "model")
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", name, tags=lineage.tags())
    return str(version.version), True


def register_azure(root: Path, ml_client) -> str:
    """Register artifacts/model in the Azure ML workspace's registry; the existing version if already there.

    MLflow's own `log_model`/`register_model` 404 against Azure ML (MLflow >= 2.17), so the model goes
    through azure-ai-ml as `Model(type="mlflow_model")`, carrying the same lineage tags as locally.
    """
    if not (root / MODEL_DIR / "MLmodel").is_file():
        raise EdgeTrainError(f"no trained model in {MODEL_DIR}/", hint="run `edge-train run` to train it")
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Model

    lineage = read_lineage(root, os.environ.get(PIPELINE_RUN_ENV))
    name = load_settings(root).model.name
    for existing in ml_client.models.list(name=name):
        if (existing.tags or {}).get("edge_train.model_hash") == lineage.model_hash:
            console.skipped(
                f"register {name} in Azure ML",
                f"the workspace already has this model as version {existing.version}",
            )
            _remember_azure(root, name, str(existing.version), lineage.model_hash)
            return str(existing.version)
    model = Model(
        path=str(root / MODEL_DIR),
        type=AssetTypes.MLFLOW_MODEL,
        name=name,
        tags=lineage.tags(),
        description=f"edge-train model {lineage.model_hash[:12]} from commit {lineage.git_commit}",
    )
    created = ml_client.models.create_or_update(model)
    console.done(f"registered {name} version {created.version} in the Azure ML model registry")
    _remember_azure(root, name, str(created.version), lineage.model_hash)
    return str(created.version)


def _remember_azure(root: Path, name: str, version: str, model_hash: str) -> None:
    """Remember the Azure ML version: `edge-train version` after `register --target azure` records it."""
    update_state(root, registered_azure={"name": name, "version": version, "model_hash": model_hash})


def azure_version_registered(root: Path, name: str, model_hash: str) -> str | None:
    """The Azure ML version `register --target azure` gave this model identity on this machine, if any."""
    cached = read_state(root).get("registered_azure", {})
    if cached.get("name") == name and cached.get("model_hash") == model_hash:
        return str(cached["version"])
    return None


def azure_ml_client(root: Path):
    """An MLClient for [azure] in edge-train.toml, authenticated as the signed-in identity (OIDC in CI)."""
    settings = load_settings(root).azure
    missing = [k for k in ("subscription_id", "resource_group", "workspace") if not getattr(settings, k)]
    if missing:
        raise EdgeTrainError(
            f"edge-train.toml [azure] is missing {', '.join(missing)}",
            hint="set them to the Azure ML workspace the model registers in",
        )
    from azure.ai.ml import MLClient

    from ml.azure.client import default_credential

    return MLClient(
        default_credential(settings),  # in Actions: renews itself after a long submit (ml.azure.github_oidc)
        settings.subscription_id,
        settings.resource_group,
        settings.workspace,
    )
