"""The one place that builds an `MLClient`: settings in, workspace client out, credentials never stored.

In GitHub Actions (`id-token: write`) the credential re-fetches a GitHub ID token whenever it needs a new
access token (`github_oidc`), so a run longer than the first token keeps its sign-in; the app and tenant are
AZURE_CLIENT_ID and AZURE_TENANT_ID, else `azure.client_id` and `azure.tenant_id` from edge-train.toml.
Elsewhere `DefaultAzureCredential` picks up, in order, environment variables, workload identity, a managed
identity, and `az login` on a laptop. Interactive browser login is excluded: a CI job must fail fast, not
wait for a human.

Every request has timeouts and a small retry budget of its own (`SDK_DEFAULTS`); `submit --wait` adds a
slower retry layer for the hours a job runs (`ml.azure.retry`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ml.azure.github_oidc import github_actions_credential, oidc_available
from ml.config import AzureSettings
from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

WORKSPACE_KEYS = ("subscription_id", "resource_group", "workspace")
# azure-core transport and retry settings for every service client the SDK builds: seconds to connect and
# to wait for an answer, and up to 2 quick retries (0.5 s, 1 s) on connection errors, 408, 429 and 5xx.
SDK_DEFAULTS: dict[str, Any] = {
    "connection_timeout": 10,
    "read_timeout": 60,
    "retry_total": 2,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
}


def missing_keys(azure: AzureSettings, keys: tuple[str, ...] = WORKSPACE_KEYS) -> list[str]:
    return [f"azure.{key}" for key in keys if not getattr(azure, key)]


def default_credential(azure: AzureSettings | None = None) -> TokenCredential:
    tenant_id = os.environ.get("AZURE_TENANT_ID") or (azure.tenant_id if azure else "")
    client_id = os.environ.get("AZURE_CLIENT_ID") or (azure.client_id if azure else "")
    if oidc_available(os.environ) and tenant_id and client_id:
        return github_actions_credential(tenant_id, client_id)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def workspace_client(
    azure: AzureSettings,
    credential: TokenCredential | None = None,
    **client_kwargs: Any,
) -> MLClient:
    """A client for the configured workspace; tests inject `credential` (a fake token, no Entra ID)."""
    missing = missing_keys(azure)
    if missing:
        raise EdgeTrainError(
            f"edge-train.toml: {', '.join(missing)} not set",
            hint="run `edge-train init` with your workspace details, then `edge-train doctor`",
        )
    from azure.ai.ml import MLClient

    return MLClient(
        credential or default_credential(azure),
        azure.subscription_id,
        azure.resource_group,
        azure.workspace,
        show_progress=False,
        enable_telemetry=False,
        **{**SDK_DEFAULTS, **client_kwargs},
    )
