"""The storage credential inside the pod: a Key Vault secret read with the compute's managed identity.

Nothing secret enters the job definition, the repository, the snapshot or a log: the job carries only the
vault URL and the secret's name (edge-train.toml), the compute's identity proves who asks, and the value lives
in this process's memory (handed to DVC as in-memory config). docs/opinions.md says why this mechanism.

Bounded: one token request and one secret read, each with short timeouts and one retry, so a missing identity,
role or secret ends the node in seconds with one line naming the fix.
"""

from __future__ import annotations

import os

from ml.errors import EdgeTrainError

ENV_VAULT_URL = "EDGE_TRAIN_KEY_VAULT_URL"
ENV_SECRET_NAME = "EDGE_TRAIN_STORAGE_SECRET"
# A user-assigned compute identity: azure-identity reads AZURE_CLIENT_ID; Azure ML puts the compute's in
# DEFAULT_IDENTITY_CLIENT_ID (https://github.com/Azure/azure-sdk-for-python/issues/30427).
ENV_CLIENT_IDS = ("AZURE_CLIENT_ID", "DEFAULT_IDENTITY_CLIENT_ID")
TIMEOUTS = {"connection_timeout": 3, "read_timeout": 5, "retry_total": 1, "retry_backoff_factor": 0.2}

ROLE_FIX = (
    "give the compute a managed identity (`az ml compute update --identity-type SystemAssigned`) and the "
    "role 'Key Vault Secrets User' on the vault (`edge-train init` prints both commands)"
)


def vault_settings(env: os._Environ[str] | dict[str, str] | None = None) -> tuple[str, str] | None:
    """(vault URL, secret name) from the job's environment; None when the job names no vault."""
    env = os.environ if env is None else env
    url, name = env.get(ENV_VAULT_URL, "").strip(), env.get(ENV_SECRET_NAME, "").strip()
    if not url and not name:
        return None
    if not url or not name:
        missing = ENV_VAULT_URL if not url else ENV_SECRET_NAME
        raise EdgeTrainError(
            f"{missing} is not set in the job, so the storage credential cannot be read",
            hint="set [azure] key_vault_url and storage_secret in edge-train.toml and submit again",
        )
    return url, name


def managed_identity():  # -> azure.identity.ManagedIdentityCredential
    from azure.identity import ManagedIdentityCredential

    client_id = next((os.environ[k] for k in ENV_CLIENT_IDS if os.environ.get(k)), None)
    return ManagedIdentityCredential(client_id=client_id, **TIMEOUTS)


def read_secret(vault_url: str, name: str, credential=None) -> str:
    """The secret's value; every failure becomes an `EdgeTrainError` that never contains the value."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )
    from azure.keyvault.secrets import SecretClient

    client = SecretClient(vault_url, credential or managed_identity(), **TIMEOUTS)
    try:
        value = client.get_secret(name).value
    except ClientAuthenticationError as exc:
        raise EdgeTrainError(
            f"the pod has no usable managed identity for Key Vault {vault_url} ({_first_line(exc)})",
            hint=ROLE_FIX,
        ) from None
    except ResourceNotFoundError:
        raise EdgeTrainError(
            f"Key Vault {vault_url} has no secret {name!r}",
            hint=f"store the storage connection string there: `az keyvault secret set --vault-name <vault> "
            f"--name {name} --file <file>` (`edge-train init` prints it)",
        ) from None
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise EdgeTrainError(
                f"the compute's identity may not read secret {name!r} in {vault_url} (403)",
                hint=ROLE_FIX,
            ) from None
        raise EdgeTrainError(
            f"Key Vault {vault_url} answered {exc.status_code} reading {name!r}",
            hint="check [azure] key_vault_url in edge-train.toml",
        ) from None
    except ServiceRequestError as exc:
        raise EdgeTrainError(
            f"Key Vault {vault_url} is unreachable from the pod ({_first_line(exc)})",
            hint="check [azure] key_vault_url in edge-train.toml and the cluster's outbound access to it",
        ) from None
    finally:
        client.close()
    if not value:
        raise EdgeTrainError(
            f"secret {name!r} in {vault_url} is empty",
            hint="store the storage connection string (BlobEndpoint=...;SharedAccessSignature=...) in it",
        )
    return value.strip()


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return " ".join(text.split())[:200]
