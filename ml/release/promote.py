"""Promote a version to a stage: GTO's stage tag, and the MLflow registry alias of the same name.

A version whose image failed to publish is refused: promoting it would point deployments at nothing.
"""

from __future__ import annotations

from pathlib import Path

from ml import console
from ml.errors import EdgeTrainError
from ml.release.version import list_versions, promote
from ml.state import read_state
from ml.tracking import configure_mlflow


def promote_version(root: Path, ref: str, stage: str) -> str:
    name, sep, version = ref.partition("@")
    if not sep or not version:
        raise EdgeTrainError(
            f"{ref!r} is not <model>@vX.Y.Z", hint="for example breast-cancer-classifier@v1.0.0"
        )
    if read_state(root).get("unpublished") == ref:
        raise EdgeTrainError(
            f"{ref} has no published image (the last push failed), so it is not promoted",
            hint="fix the registry and run `edge-train push`, then promote again",
        )
    target = next((v for v in list_versions(root, name) if v.version == version), None)
    mlflow_version = target.fields.get("mlflow_version") if target else None
    tag, created = promote(root, name, version, stage)
    if mlflow_version:
        _set_alias(root, name, stage, mlflow_version)
    if created:
        console.done(
            f"promoted {ref} to {stage}: tag {tag}"
            + (f", MLflow alias {name}@{stage} → version {mlflow_version}" if mlflow_version else "")
        )
    else:
        console.skipped(f"promote {ref}", f"it is already the {stage} version ({tag})")
    return tag


def _set_alias(root: Path, name: str, stage: str, mlflow_version: str) -> None:
    configure_mlflow(root)
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(name, stage, mlflow_version)
