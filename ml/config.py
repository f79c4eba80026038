"""Settings of a fork: names, endpoints and targets, read from `edge-train.toml` at the repository root.

Hyperparameters live in `params.yaml` (see `ml.params`); secrets live in environment variables or untracked
local files, never here. Every section forbids unknown keys so that a typo fails loudly, naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ml.azure import names
from ml.errors import EdgeTrainError
from ml.paths import SETTINGS_FILE
from ml.validation import describe_validation_error


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ModelSettings(Section):
    name: str = "breast-cancer-classifier"


class TrackingSettings(Section):
    # Relative sqlite paths resolve against the repository root; Azure ML jobs override this with the
    # workspace's MLflow URI through MLFLOW_TRACKING_URI.
    uri: str = "sqlite:///mlflow.db"


class DataSettings(Section):
    # The embedded default DVC remote: a local folder, seeded with the example data on first run.
    local_remote: str = "local"
    local_remote_path: str = ".dvc-storage"


class ImageSettings(Section):
    name: str = "edge-train/breast-cancer-classifier"
    # "" writes an OCI layout directory; "127.0.0.1:5000" a loopback registry; "<acr>.azurecr.io" for ACR.
    registry: str = ""
    base: str = "python:3.11-slim"


class StorageSettings(Section):
    """Azure Stack Hub blob storage behind the `azure` DVC remote (credentials never live here)."""

    remote: str = "ash"  # the DVC remote `edge-train data remote set` writes and `data doctor` checks
    account: str = ""
    container: str = ""
    endpoint_suffix: str = ""
    blob_endpoint: str = ""
    # Sent as x-ms-version by every storage client, plain `dvc` included (ml/storage/pin.py); "" = no pin.
    api_version: str = "2019-07-07"
    # PEM file of the private CA that signed the ASH endpoint's certificate (relative to the repo root).
    ca_bundle: str = ""


class AzureSettings(Section):
    """The Azure side: workspace, edge compute, edge datastore and registry (`edge-train init` writes it).

    Empty means "not set yet" (a fresh fork); `edge-train doctor` names each empty key that a command needs.
    Set values are checked for shape here, so a typo fails before any call to Azure.
    """

    subscription_id: str = ""
    tenant_id: str = ""
    client_id: str = ""
    resource_group: str = ""
    workspace: str = ""
    compute: str = "edge-k8s"
    arc_cluster_id: str = ""
    k8s_namespace: str = "azureml"
    edge_datastore: str = "ash_blob"
    acr: str = ""
    # The storage credential for the job's pods: a Key Vault secret holding the ASH connection string, read
    # with the compute's managed identity (ml/edge/credential.py). Names only: the value never lives here.
    key_vault_url: str = ""
    storage_secret: str = "edge-train-storage"

    _guids = field_validator("subscription_id", "tenant_id", "client_id")(names.check_guid)
    _resource_group = field_validator("resource_group")(names.check_resource_group)
    _workspace = field_validator("workspace")(names.check_workspace)
    _compute = field_validator("compute")(names.check_compute)
    _arc_cluster_id = field_validator("arc_cluster_id")(names.check_arc_cluster_id)
    _edge_datastore = field_validator("edge_datastore")(names.check_datastore)
    _acr = field_validator("acr")(names.check_acr)
    _key_vault_url = field_validator("key_vault_url")(names.check_key_vault_url)


class Settings(Section):
    target: Literal["local", "azure"] = "local"
    model: ModelSettings = ModelSettings()
    tracking: TrackingSettings = TrackingSettings()
    data: DataSettings = DataSettings()
    image: ImageSettings = ImageSettings()
    storage: StorageSettings = StorageSettings()
    azure: AzureSettings = AzureSettings()


def load_settings(root: Path) -> Settings:
    """Read `edge-train.toml` under `root`; a missing file means the embedded local defaults."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise EdgeTrainError(
            f"{path}: not valid TOML: {exc}", hint="fix the syntax at the line shown"
        ) from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise describe_validation_error(path, exc) from None
