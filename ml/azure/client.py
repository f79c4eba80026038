"""The one place that builds an `MLClient`: settings in, workspace client out, credentials never stored.

`DefaultAzureCredential` picks up, in order, environment variables, the workload identity / OIDC login that
`azure/login` leaves in GitHub Actions, a managed identity, and `az login` on a laptop. Interactive browser
login is excluded: a CI job must fail fast, not wait for a human.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ml.config import AzureSettings
from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

WORKSPACE_KEYS = ("subscription_id", "resource_group", "workspace")


def missing_keys(azure: AzureSettings, keys: tuple[str, ...] = WORKSPACE_KEYS) -> list[str]:
    return [f"azure.{key}" for key in keys if not getattr(azure, key)]


def default_credential() -> TokenCredential:
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
        credential or default_credential(),
        azure.subscription_id,
        azure.resource_group,
        azure.workspace,
        show_progress=False,
        enable_telemetry=False,
        **client_kwargs,
    )
