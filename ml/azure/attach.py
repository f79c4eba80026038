"""`edge-train azure attach`: create or update the edge compute and the edge datastore from `infra/*.yml`.

The YAML files are the definition (reviewable in a PR); edge-train.toml supplies the names and ids of this
fork, and the datastore's SAS token comes from the environment only. Both calls are create-or-update, so
re-running after a change converges instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ml import console
from ml.azure.failures import explain
from ml.azure.names import account_of, check_blob_endpoint, endpoint_suffix
from ml.config import Settings
from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import AzureBlobDatastore, KubernetesCompute

COMPUTE_FILE = "infra/compute.yml"
DATASTORE_FILE = "infra/datastore.yml"
SAS_ENV = "EDGE_TRAIN_STORAGE_SAS"


def edge_compute(root: Path, settings: Settings) -> KubernetesCompute:
    from azure.ai.ml import load_compute

    azure = settings.azure
    return load_compute(
        _infra_file(root, COMPUTE_FILE),
        params_override=[
            {"name": azure.compute},
            {"resource_id": azure.arc_cluster_id},
            {"namespace": azure.k8s_namespace},
        ],
    )


def edge_datastore(root: Path, settings: Settings, sas_token: str) -> AzureBlobDatastore:
    from azure.ai.ml import load_datastore
    from azure.ai.ml.entities import SasTokenConfiguration

    storage = settings.storage
    datastore = load_datastore(
        _infra_file(root, DATASTORE_FILE),
        params_override=[
            {"name": settings.azure.edge_datastore},
            {"account_name": account_of(storage.blob_endpoint)},
            {"container_name": storage.container},
            {"endpoint": endpoint_suffix(storage.blob_endpoint)},
        ],
    )
    datastore.credentials = SasTokenConfiguration(sas_token=sas_token.lstrip("?"))
    return datastore


def _infra_file(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_file():
        raise EdgeTrainError(
            f"{path}: not found", hint=f"restore it from the template (`git checkout {name}`)"
        )
    return path


def preflight(root: Path, settings: Settings) -> str:
    """Every check that needs no Azure call (nor azure-ai-ml's seconds of imports); return the SAS token.

    The CLI runs it before building the workspace client, so a settings mistake fails at once."""
    sas = os.environ.get(SAS_ENV, "")
    if not sas:
        raise EdgeTrainError(
            f"{SAS_ENV} is not set: the edge datastore needs a SAS token for its container",
            hint="create a container SAS on the stack (read, write, list, add, create, "
            f"delete) and export {SAS_ENV}; it is sent to the workspace, never written to a file",
        )
    if not settings.azure.arc_cluster_id:
        raise EdgeTrainError(
            "edge-train.toml: azure.arc_cluster_id not set",
            hint="connect the cluster with `az connectedk8s connect`, then "
            "`edge-train init --arc-cluster-id $(az connectedk8s show ... --query id -o tsv)`",
        )
    storage = settings.storage
    if not storage.blob_endpoint or not storage.container:
        raise EdgeTrainError(
            "edge-train.toml: storage.blob_endpoint and storage.container must be set",
            hint="run `edge-train init --storage-endpoint https://<account>.blob.<region>.<fqdn> "
            "--container <name>`",
        )
    try:
        check_blob_endpoint(storage.blob_endpoint)
    except ValueError as exc:
        raise EdgeTrainError(
            f"edge-train.toml: storage.blob_endpoint: {exc} (got {storage.blob_endpoint!r})",
            hint="an Azure ML datastore needs the account-style endpoint; path-style endpoints "
            "(an emulator's http://host:port/account) work for DVC only",
        ) from None
    for name in (COMPUTE_FILE, DATASTORE_FILE):
        _infra_file(root, name)
    return sas


def attach(client: MLClient, root: Path, settings: Settings) -> None:
    from azure.core.exceptions import AzureError

    sas = preflight(root, settings)
    compute = edge_compute(root, settings)
    datastore = edge_datastore(root, settings, sas)
    try:
        client.compute.begin_attach(compute).result()
    except AzureError as exc:
        raise explain(exc, action=f"attaching compute {compute.name}") from None
    console.done(
        f"compute {compute.name} attached (Arc cluster {compute.resource_id.rsplit('/', 1)[-1]}, "
        f"namespace {compute.namespace})"
    )
    try:
        client.datastores.create_or_update(datastore)
    except AzureError as exc:
        raise explain(exc, action=f"creating datastore {datastore.name}") from None
    console.done(
        f"datastore {datastore.name} → https://{datastore.account_name}.blob.{datastore.endpoint}/"
        f"{datastore.container_name}"
    )
