"""Settings of a fork: names, endpoints and targets, read from `edge-train.toml` at the repository root.

Hyperparameters live in `params.yaml` (see `ml.params`); secrets live in environment variables or untracked
local files, never here. Every section forbids unknown keys so that a typo fails loudly, naming the key.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ml.azure import names
from ml.deploy import names as deploy_names
from ml.errors import EdgeTrainError
from ml.paths import SETTINGS_FILE
from ml.validation import describe_validation_error


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# What a model name must be to work as a GTO artifact, an MLflow registered model and an Azure ML model.
_MODEL_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_-]{0,253}[a-zA-Z0-9])?$")
_STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
_HOST = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d+)?$")
_TRACKING_SCHEMES = (
    "sqlite",
    "file",
    "http",
    "https",
    "azureml",
    "postgresql",
    "mysql",
    "mssql",
    "databricks",
)
# Query keys that carry credentials: a URL holding one must not live in a tracked file.
SECRET_QUERY_KEYS = frozenset({"sig", "signature", "token", "access_token", "key", "password", "code"})


def refuse_credentials(value: str, where: str) -> str:
    """Settings are tracked in git: a URL with a password or a signed query (a SAS) is refused."""
    parts = urlsplit(value)
    if parts.password or {k.lower() for k in parse_qs(parts.query)} & SECRET_QUERY_KEYS:
        raise ValueError(
            f"holds a credential (password or signed query): edge-train.toml is tracked in git; {where}"
        )
    return value


class ModelSettings(Section):
    name: str = "breast-cancer-classifier"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _MODEL_NAME.match(value):
            raise ValueError(
                "must be 1-255 letters, digits, '-' or '_', starting and ending with a letter or digit "
                "(a GTO, MLflow and Azure ML model name)"
            )
        return value


class TrackingSettings(Section):
    # Relative sqlite paths resolve against the repository root; Azure ML jobs override this with the
    # workspace's MLflow URI through MLFLOW_TRACKING_URI.
    uri: str = "sqlite:///mlflow.db"

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0].lower() if ":" in value else ""
        if scheme not in _TRACKING_SCHEMES:
            raise ValueError(
                f"must be an MLflow tracking URI ({', '.join(_TRACKING_SCHEMES)}), e.g. sqlite:///mlflow.db"
            )
        return refuse_credentials(
            value,
            "use the URI without it and MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or "
            "MLFLOW_TRACKING_TOKEN in the environment",
        )


class DataSettings(Section):
    # The embedded default DVC remote: a local folder, seeded with the example data on first run.
    local_remote: str = "local"
    local_remote_path: str = ".dvc-storage"


class ImageSettings(Section):
    name: str = "edge-train/breast-cancer-classifier"
    # "" writes an OCI layout directory; "127.0.0.1:5000" a loopback registry; "<acr>.azurecr.io" for ACR.
    registry: str = ""
    base: str = "python:3.11-slim"

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        if "://" in value:
            raise ValueError("is a registry host, not a URL: drop the scheme (e.g. myacr.azurecr.io)")
        return value


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

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        if value and not _STORAGE_ACCOUNT.match(value):
            raise ValueError("must be 3-24 lowercase letters and digits (an Azure storage account name)")
        return value

    @field_validator("container")
    @classmethod
    def _container(cls, value: str) -> str:
        if value and not _CONTAINER.match(value):
            raise ValueError(
                "must be 3-63 lowercase letters, digits and single hyphens (a blob container name)"
            )
        return value

    @field_validator("endpoint_suffix")
    @classmethod
    def _suffix(cls, value: str) -> str:
        if "://" in value:
            raise ValueError("is a DNS suffix, not a URL: drop the scheme (e.g. local.azurestack.external)")
        if value and not _HOST.match(value):
            raise ValueError("must be a DNS suffix such as local.azurestack.external (no path, no spaces)")
        return value

    @field_validator("blob_endpoint")
    @classmethod
    def _blob_endpoint(cls, value: str) -> str:
        if not value:
            return value
        # Its shape is checked where it is used (`edge-train doctor`, `data remote set`): a path-style
        # endpoint is valid for one and not the other. A credential is wrong everywhere: this file is tracked.
        refuse_credentials(
            value,
            "keep only the endpoint here; `edge-train data remote set` puts the SAS token in "
            ".dvc/config.local, which git never sees",
        )
        if urlsplit(value).query:
            raise ValueError("must have no query string: the SAS token goes to .dvc/config.local")
        return value

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(
                    'must be a storage REST API version (a date such as "2019-07-07", the newest Azure '
                    'Stack Hub accepts), or "" for the SDK default'
                ) from None
        return value


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


class DeployTarget(Section):
    """`[deploy.<name>]`: where `edge-train deploy --target <name>` serves the promoted version.

    kubernetes: plain manifests for any cluster on the premises (`namespace`, `replicas`, `cpu`, `memory`,
    `kubectl_context`). arc: an Azure ML Kubernetes online endpoint on the attached Arc cluster ([azure]
    compute; `instance_type` is one of the cluster's instance types). cloud: an Azure ML managed online
    endpoint (`instance_type` is a VM size such as Standard_DS3_v2). Both Azure kinds need `endpoint`.
    """

    kind: Literal["kubernetes", "arc", "cloud"]
    default: bool = False  # the target `deploy` and promote.yml use when none is named
    namespace: str = "default"
    replicas: int = Field(default=2, ge=1)
    cpu: str = "500m"
    memory: str = "512Mi"
    kubectl_context: str = ""
    endpoint: str = ""
    instance_type: str = ""
    instance_count: int = Field(default=1, ge=1)

    _endpoint = field_validator("endpoint")(deploy_names.check_endpoint)
    _k8s_names = field_validator("namespace")(deploy_names.check_dns_label)


class Settings(Section):
    target: Literal["local", "azure"] = "local"
    model: ModelSettings = ModelSettings()
    tracking: TrackingSettings = TrackingSettings()
    data: DataSettings = DataSettings()
    image: ImageSettings = ImageSettings()
    storage: StorageSettings = StorageSettings()
    azure: AzureSettings = AzureSettings()
    deploy: dict[str, DeployTarget] = {}


def load_settings(root: Path) -> Settings:
    """Read `edge-train.toml` under `root`; a missing file means the embedded local defaults."""
    path = root / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise EdgeTrainError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise EdgeTrainError(
            f"{path}: cannot read it ({exc.strerror})", hint=f"make {SETTINGS_FILE} a readable regular file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise EdgeTrainError(
            f"{path}: not valid TOML: {exc}", hint="fix the syntax at the line shown"
        ) from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise describe_validation_error(path, exc) from None
