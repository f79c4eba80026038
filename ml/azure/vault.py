"""The pod's storage credential, seen from a workstation: `edge-train init` commands and `doctor` checks.

In the job, `ml.edge.credential` reads the Key Vault secret with the compute's managed identity. Setting
that up takes three one-time steps (the compute gets its identity when `edge-train azure attach` attaches it,
infra/compute.yml): store the connection string as a secret, and give the compute's identity the role
"Key Vault Secrets User" on the vault. The doctor checks the secret exists, is enabled, is not expired, holds
a connection string with a valid SAS, and that the compute has an identity, without printing the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ml.config import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from ml.azure.doctor import Check


def vault_name(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "<vault>").split(".")[0]


def pod_credential_commands(settings: Settings) -> list[str]:
    """The one-time commands that let the job's pods read the storage credential (printed by init)."""
    azure = settings.azure
    vault = vault_name(azure.key_vault_url) if azure.key_vault_url else "<vault>"
    where = f"--name {azure.compute} --resource-group {azure.resource_group or '<resource-group>'} "
    where += f"--workspace-name {azure.workspace or '<workspace>'}"
    return [
        "# the storage connection string (BlobEndpoint=...;SharedAccessSignature=...), from a file:",
        f"az keyvault secret set --vault-name {vault} --name {azure.storage_secret} --file <file>",
        "# the compute's managed identity (attach gives it one) may read the vault's secrets:",
        'az role assignment create --role "Key Vault Secrets User" --assignee-principal-type '
        f'ServicePrincipal --assignee-object-id "$(az ml compute show {where} --query '
        f'identity.principal_id -o tsv)" --scope "$(az keyvault show --name {vault} --query id -o tsv)"',
    ]


def vault_check(settings: Settings, credential: TokenCredential) -> Check:
    """The secret exists, is enabled and unexpired, and holds a connection string with a live SAS."""
    from ml.azure.doctor import Check
    from ml.edge.credential import read_secret
    from ml.errors import EdgeTrainError
    from ml.storage.diagnose import check_sas
    from ml.storage.remote import parse_connection_string

    azure = settings.azure
    if not azure.key_vault_url:
        return Check(
            "pod credential",
            "fail",
            "azure.key_vault_url is not set: the job's pods would have no storage credential",
            "run `edge-train init --key-vault-url https://<vault>.vault.azure.net` and what it prints",
        )
    try:
        value = read_secret(azure.key_vault_url, azure.storage_secret, credential)
        fields = parse_connection_string(value)
        if not fields.get("BlobEndpoint"):
            raise EdgeTrainError(
                f"secret {azure.storage_secret!r} is not a connection string with BlobEndpoint=",
                hint="store BlobEndpoint=https://<account>.blob.<fqdn>;SharedAccessSignature=<sas>",
            )
        if fields.get("SharedAccessSignature"):
            check_sas(fields["SharedAccessSignature"])
    except EdgeTrainError as exc:
        return Check("pod credential", "fail", exc.message, exc.hint or "")
    return Check(
        "pod credential",
        "ok",
        f"secret {azure.storage_secret!r} in {azure.key_vault_url} holds a connection string (not shown)",
    )


def compute_identity_check(compute: Any, settings: Settings) -> Check:
    """The attached compute has a managed identity: without one the pods cannot read the secret."""
    from ml.azure.doctor import Check

    identity = getattr(compute, "identity", None)
    if identity is None or not (getattr(identity, "principal_id", None) or getattr(identity, "type", None)):
        return Check(
            "compute identity",
            "fail",
            f"compute {settings.azure.compute} has no managed identity",
            "re-attach with `edge-train azure attach` (infra/compute.yml gives it a system identity)",
        )
    return Check("compute identity", "ok", f"compute {settings.azure.compute} has a managed identity")
