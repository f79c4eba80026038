"""Promote a version to a stage: GTO's stage tag, the MLflow registry alias of the same name, and, when the
version was registered in Azure ML, a `stage` tag on that Azure ML model version.

The GTO stage tag is the source of truth; the alias and the Azure ML tag mirror it where those registries
know the model. Before anything is written, the image registry is asked whether the version's image is there
with the digest its tag records: promoting a version without it would point deployments at nothing.
"""

from __future__ import annotations

from pathlib import Path

from ml import console
from ml.config import load_settings
from ml.errors import EdgeTrainError
from ml.release.version import SEMVER, VersionTag, list_versions, promote
from ml.tracking import configure_mlflow

DEFAULT_STAGE = "production"  # the alias `edge-train report` reads the production metrics from
STAGE_TAG = "stage"  # the Azure ML model version tag that mirrors the GTO stage (Azure ML has no aliases)


def parse_ref(root: Path, ref: str) -> tuple[str, str]:
    """(model, vX.Y.Z) from `<model>@vX.Y.Z`, `vX.Y.Z` or `X.Y.Z` (the model of edge-train.toml [model])."""
    name, sep, version = ref.strip().rpartition("@")
    if not sep:
        name = load_settings(root).model.name
    if version and not version.startswith("v"):
        version = f"v{version}"
    if not name or not SEMVER.match(version):
        raise EdgeTrainError(
            f"{ref!r} is not a model version",
            hint="give <model>@vX.Y.Z, vX.Y.Z or X.Y.Z, for example breast-cancer-classifier@v1.0.0 or 1.0.0",
        )
    return name, version


def promote_version(root: Path, ref: str, stage: str = DEFAULT_STAGE, ml_client=None) -> str:
    """Write the stage tag and mirror it in the registries; return the stage tag.

    `ml_client` is the Azure ML client to mark the model version with (made from [azure] when None and the
    version tag records an Azure ML model version).
    """
    name, version = parse_ref(root, ref)
    ref = f"{name}@{version}"
    target = next((v for v in list_versions(root, name) if v.version == version), None)
    if target is not None:
        check_image_published(root, target)
    tag, created = promote(root, name, version, stage)
    if created:
        console.done(f"promoted {ref} to {stage}: tag {tag}")
    else:
        console.skipped(f"promote {ref}", f"it is already the {stage} version ({tag})")
    assert target is not None  # promote() raised otherwise
    _mlflow_alias(root, target, stage)
    azureml_version = target.fields.get("azureml_version")
    if azureml_version:
        if ml_client is None:
            from ml.release.register import azure_ml_client

            ml_client = azure_ml_client(root)
        mark_azure_stage(ml_client, target, azureml_version, stage)
    return tag


def check_image_published(root: Path, target: VersionTag) -> None:
    """Ask the image registry whether `target`'s image is there with the digest its version tag records.

    A fresh runner has no memory of earlier pushes; the registry and the tag are the only sources. Without a
    configured registry (the local default) a version without an image is promoted, and says so.
    """
    from ml.release import image
    from ml.release.pipeline import MODEL_HASH_LABEL, _credentials

    settings = load_settings(root)
    recorded = target.fields.get("image_digest", "")
    if not settings.image.registry and not recorded:
        console.skipped(
            "check the image", f"no image registry is configured and {target.tag} records no image"
        )
        return
    if not recorded:
        raise EdgeTrainError(
            f"{target.tag} records no image digest, so it has no published image and is not promoted",
            hint="fix the registry and run `edge-train push` and `edge-train version` for a new version",
        )
    dest = image.Destination.for_settings(root, settings.image.registry, settings.image.name, target.version)
    with _credentials(settings) as authfile:
        found = image.remote_image(dest, authfile)
    if found is None or found["digest"] != recorded:
        where = "has no such image" if found is None else f"holds {found['digest'][:19]}"
        raise EdgeTrainError(
            f"{dest.display} {where}, but {target.tag} records {recorded[:19]}: not promoted",
            hint="the image was removed or overwritten; publish a new version instead of promoting this one",
        )
    if found["labels"].get(MODEL_HASH_LABEL) not in (None, target.fields.get("model_hash")):
        raise EdgeTrainError(
            f"{dest.display} holds another model than {target.tag}: not promoted",
            hint="check [image] in edge-train.toml",
        )
    console.done(f"{dest.display} is the image {target.tag} records ({recorded[:19]})")


def _mlflow_alias(root: Path, target: VersionTag, stage: str) -> None:
    """Point the MLflow alias `stage` at the version's MLflow model version, if this store knows it.

    The version tag records the MLflow version of the machine that registered it; a fresh CI runner's
    store is empty, and another store's version N may be another model: the model hash decides.
    """
    mlflow_version = target.fields.get("mlflow_version")
    what = f"MLflow alias {target.name}@{stage}"
    if not mlflow_version:
        console.skipped(what, f"{target.tag} records no MLflow model version")
        return
    uri = configure_mlflow(root)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        console.skipped(
            what,
            f"the MLflow store {uri} does not exist here (a fresh CI runner), so it does not know "
            f"{target.name} version {mlflow_version}; the stage tag is the source of truth",
        )
        return
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        found = client.get_model_version(target.name, mlflow_version)
    except MlflowException:
        console.skipped(
            what,
            f"the MLflow store {uri} has no {target.name} version {mlflow_version} (it was registered in "
            "another store, e.g. on another CI runner); the stage tag is the source of truth",
        )
        return
    model_hash = target.fields.get("model_hash")
    if model_hash and (found.tags or {}).get("edge_train.model_hash") not in (None, model_hash):
        console.skipped(
            what,
            f"{target.name} version {mlflow_version} in {uri} is another model than {target.tag} "
            f"(identity {found.tags['edge_train.model_hash'][:12]}, not {model_hash[:12]})",
        )
        return
    client.set_registered_model_alias(target.name, stage, mlflow_version)
    console.done(f"{what} → version {mlflow_version}")


def mark_azure_stage(ml_client, target: VersionTag, azureml_version: str, stage: str) -> None:
    """Tag the Azure ML model version `stage=<stage>` and take the tag off the version that held it.

    Azure ML v2 workspace models have no aliases; a tag is mutable through the same PUT that registered
    the version (`models.get`, change `tags`, `models.create_or_update`), and `models.list` shows it.
    """
    model = ml_client.models.get(name=target.name, version=azureml_version)
    model_hash = target.fields.get("model_hash")
    held = (model.tags or {}).get("edge_train.model_hash")
    if model_hash and held and held != model_hash:
        raise EdgeTrainError(
            f"Azure ML {target.name} version {azureml_version} is another model than {target.tag} "
            f"(identity {held[:12]}, not {model_hash[:12]})",
            hint="the version tag and the workspace disagree: check [azure] in edge-train.toml",
        )
    for other in ml_client.models.list(name=target.name):
        if str(other.version) != str(azureml_version) and (other.tags or {}).get(STAGE_TAG) == stage:
            previous = ml_client.models.get(name=target.name, version=str(other.version))
            previous.tags = {k: v for k, v in (previous.tags or {}).items() if k != STAGE_TAG}
            ml_client.models.create_or_update(previous)
            console.done(f"removed {STAGE_TAG}={stage} from Azure ML {target.name} version {other.version}")
    if (model.tags or {}).get(STAGE_TAG) == stage:
        console.skipped(
            f"tag Azure ML {target.name} version {azureml_version}", f"it already has {STAGE_TAG}={stage}"
        )
        return
    model.tags = {**(model.tags or {}), STAGE_TAG: stage}
    ml_client.models.create_or_update(model)
    console.done(f"tagged Azure ML {target.name} version {azureml_version} {STAGE_TAG}={stage}")
