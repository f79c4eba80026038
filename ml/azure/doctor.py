"""`edge-train doctor`: check every prerequisite of the Azure run and say, for each, what to fix.

Offline checks come first (config file, each required key, credentials present); the reachability checks
(storage at the pinned API version, workspace, compute, datastore) run only when what they need is there, and
otherwise say why they were skipped. Nothing secret is printed: only whether a credential is present.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ml.azure.names import check_blob_endpoint
from ml.config import Settings, load_settings
from ml.errors import EdgeTrainError
from ml.paths import SETTINGS_FILE

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

Status = Literal["ok", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


# Each key a command needs, with the `edge-train init` option that sets it.
REQUIRED = (
    ("azure", "subscription_id", "--subscription-id"),
    ("azure", "tenant_id", "--tenant-id"),
    ("azure", "client_id", "--client-id"),
    ("azure", "resource_group", "--resource-group"),
    ("azure", "workspace", "--workspace"),
    ("azure", "compute", "--compute"),
    ("azure", "arc_cluster_id", "--arc-cluster-id"),
    ("azure", "acr", "--acr"),
    ("storage", "blob_endpoint", "--storage-endpoint"),
    ("storage", "container", "--container"),
)
AZURE_LOGIN_ENV = (
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
)
ASH_API_VERSION = "2019-07-07"
STORAGE_CREDENTIAL_ENV = (
    "EDGE_TRAIN_STORAGE_SAS",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
)


def config_checks(root: Path) -> tuple[Settings | None, list[Check]]:
    path = root / SETTINGS_FILE
    if not path.is_file():
        return None, [
            Check(
                "config",
                "fail",
                f"{path} does not exist",
                "run `edge-train init` with your workspace, compute, storage and ACR names",
            )
        ]
    try:
        settings = load_settings(root)
    except EdgeTrainError as exc:
        return None, [Check("config", "fail", exc.message, exc.hint or "")]
    checks = [Check("config", "ok", f"{SETTINGS_FILE} is valid")]
    for section, key, option in REQUIRED:
        value = getattr(getattr(settings, section), key)
        if not value:
            checks.append(
                Check(
                    f"{section}.{key}",
                    "fail",
                    f"{SETTINGS_FILE}: {section}.{key} is not set",
                    f"edge-train init {option} <value>",
                )
            )
    try:
        check_blob_endpoint(settings.storage.blob_endpoint)
    except ValueError as exc:
        checks.append(
            Check(
                "storage.blob_endpoint",
                "fail",
                f"{SETTINGS_FILE}: storage.blob_endpoint: {exc}",
                "edge-train init --storage-endpoint https://<account>.blob.<region>.<fqdn>",
            )
        )
    return settings, checks


def credential_checks(env: os._Environ[str] | dict[str, str], az_logged_in: bool) -> list[Check]:
    azure = [name for name in AZURE_LOGIN_ENV if env.get(name)]
    if azure or az_logged_in:
        login = Check(
            "azure login", "ok", "found " + (", ".join(azure) if azure else "an `az login` session")
        )
    else:
        login = Check(
            "azure login",
            "fail",
            "no Azure credential found",
            "run `az login` (laptop) or azure/login with OIDC (Actions, docs/fork-guide.md)",
        )
    storage = [name for name in STORAGE_CREDENTIAL_ENV if env.get(name)]
    if storage:
        store = Check("storage credential", "ok", f"found {', '.join(storage)} (value not shown)")
    else:
        store = Check(
            "storage credential",
            "fail",
            "no storage credential in the environment",
            "export EDGE_TRAIN_STORAGE_SAS=<container SAS from the stack>",
        )
    return [login, store]


def storage_check(settings: Settings, sas: str, connection_string: str = "") -> Check:
    """Read the container's properties with the pinned API version: what Azure Stack Hub accepts."""
    from azure.core.exceptions import AzureError
    from azure.storage.blob import ContainerClient

    storage = settings.storage
    url = f"{storage.blob_endpoint}/{storage.container}"
    options = {
        "api_version": storage.api_version,
        "retry_total": 0,
        "connection_timeout": 10,
        "read_timeout": 10,
    }
    if connection_string and not sas:
        client = ContainerClient.from_connection_string(connection_string, storage.container, **options)
    else:
        client = ContainerClient.from_container_url(url, credential=sas.lstrip("?") or None, **options)
    try:
        client.get_container_properties()
    except AzureError as exc:
        code = getattr(exc, "error_code", None)
        code = getattr(code, "value", code)  # a StorageErrorCode enum: its value is the wire name
        reason = f"{code}: " if code else ""
        fix = (
            f'set storage.api_version = "{ASH_API_VERSION}" in edge-train.toml '
            "(the newest Azure Stack Hub accepts)"
            if code == "InvalidHeaderValue"
            else "check the endpoint, the container name and that the SAS is valid and not expired"
        )
        # The message is the SDK's summary line, which never contains the SAS (it travels in the query only).
        return Check(
            "storage",
            "fail",
            f"{url} (x-ms-version {storage.api_version}): {reason}{str(exc).splitlines()[0]}",
            fix,
        )
    return Check("storage", "ok", f"{url} answers with x-ms-version {storage.api_version}")


def workspace_checks(client: MLClient, settings: Settings) -> Iterator[Check]:
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    azure = settings.azure
    probes: list[tuple[str, Callable[[], object], str]] = [
        (
            "workspace",
            lambda: client.workspaces.get(azure.workspace),
            "check subscription, resource group and workspace names, and your role on the workspace",
        ),
        ("compute", lambda: client.compute.get(azure.compute), "run `edge-train azure attach`"),
        ("datastore", lambda: client.datastores.get(azure.edge_datastore), "run `edge-train azure attach`"),
    ]
    for name, probe, fix in probes:
        try:
            found = probe()
        except ResourceNotFoundError:
            yield Check(name, "fail", f"{name} not found in workspace {azure.workspace}", fix)
            continue
        except AzureError as exc:
            yield Check(name, "fail", str(exc).splitlines()[0], fix)
            if name == "workspace":
                return
            continue
        state = getattr(found, "provisioning_state", None)
        state = getattr(state, "value", state)  # the SDK returns an enum; its str() is not the state's name
        if name == "compute" and state and state != "Succeeded":
            yield Check(
                name,
                "fail",
                f"compute {azure.compute} is {state}",
                "check the Arc agent and the Azure ML extension on the cluster",
            )
            continue
        yield Check(name, "ok", f"{name} {getattr(found, 'name', '')} reachable")


def run_checks(
    root: Path,
    env: os._Environ[str] | dict[str, str],
    az_logged_in: bool,
    client_factory: Callable[[Settings], MLClient],
) -> list[Check]:
    settings, checks = config_checks(root)
    checks += credential_checks(env, az_logged_in)
    failed = {check.name for check in checks if check.status == "fail"}
    if settings is None:
        return [*checks, Check("reachability", "skip", "", "the config must load first")]
    if failed & {"storage.blob_endpoint", "storage.container", "storage credential"}:
        checks.append(
            Check("storage", "skip", "", "storage endpoint, container and credential are needed first")
        )
    else:
        sas = next((env[name] for name in STORAGE_CREDENTIAL_ENV[:2] if env.get(name)), "")
        checks.append(storage_check(settings, sas, env.get("AZURE_STORAGE_CONNECTION_STRING", "")))
    if failed & {"azure.subscription_id", "azure.resource_group", "azure.workspace", "azure login"}:
        checks.append(Check("workspace", "skip", "", "workspace names and an Azure login are needed first"))
    else:
        client = client_factory(settings)
        checks += list(workspace_checks(client, settings))
        checks += pod_credential_checks(client, settings)
    from ml.deploy.doctor import deploy_checks

    online = not failed & {"azure.subscription_id", "azure.resource_group", "azure.workspace", "azure login"}
    checks += deploy_checks(settings, client_factory if online else None)
    return checks


def pod_credential_checks(client: MLClient, settings: Settings) -> list[Check]:
    """What the job's pods need to read the storage credential (ml/azure/vault.py)."""
    from azure.core.exceptions import AzureError

    from ml.azure.vault import compute_identity_check, vault_check

    # The doctor reads the secret as the user (or CI) running it, with the client's own credential.
    checks = [vault_check(settings, client._credential)]
    with contextlib.suppress(AzureError):  # a missing compute is already reported by workspace_checks
        checks.append(compute_identity_check(client.compute.get(settings.azure.compute), settings))
    return checks


def az_cli_logged_in() -> bool:
    """An `az login` session leaves a token cache; finding it is enough here (the probes test it for real)."""
    config_dir = Path(os.environ.get("AZURE_CONFIG_DIR", Path.home() / ".azure"))
    return (config_dir / "msal_token_cache.json").is_file() or (config_dir / "msal_token_cache.bin").is_file()
