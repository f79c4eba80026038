"""Point the `azure` DVC remote at an ASH storage account, keeping the credential out of git.

DVC has no endpoint setting for Azure (`account_name` always means `*.blob.core.windows.net`), so the remote
gets a connection string with an explicit `BlobEndpoint`. The URL (container) goes to `.dvc/config`, which is
committed; the connection string, which holds the SAS token or account key, goes to `.dvc/config.local`,
which DVC never commits, readable by its owner only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ml.config import StorageSettings
from ml.errors import EdgeTrainError
from ml.paths import SETTINGS_FILE

ENV_SAS = "AZURE_STORAGE_SAS_TOKEN"
ENV_KEY = "AZURE_STORAGE_KEY"
CREDENTIAL_KINDS = ("sas", "key", "entra")


@dataclass(frozen=True)
class Credential:
    """A SAS token (`kind="sas"`) or an account key (`kind="key"`); `repr` never shows the secret."""

    kind: str
    secret: str

    def __repr__(self) -> str:
        return f"Credential(kind={self.kind!r}, secret=***)"


def blob_endpoint(storage: StorageSettings) -> str:
    """`https://<account>.blob.<endpoint_suffix>`, or `blob_endpoint` when it is set (it wins)."""
    if storage.blob_endpoint:
        parts = urlsplit(storage.blob_endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EdgeTrainError(
                f"{SETTINGS_FILE}: storage.blob_endpoint: not an http(s) URL (got {storage.blob_endpoint!r})",
                hint="use https://<account>.blob.<region>.<fqdn>",
            )
        if parts.query or parts.password:
            raise EdgeTrainError(
                "storage.blob_endpoint (--blob-endpoint): the URL holds a query string or password (a SAS "
                "token?); the endpoint is written to .dvc/config, which git tracks",
                hint=f"give the endpoint without '?...' and the SAS token through {ENV_SAS} or the prompt: "
                "it goes to .dvc/config.local only",
            )
        return storage.blob_endpoint.rstrip("/")
    missing = [key for key in ("account", "endpoint_suffix") if not getattr(storage, key)]
    if missing:
        raise EdgeTrainError(
            f"{SETTINGS_FILE}: storage.{missing[0]} is not set",
            hint="set storage.account and storage.endpoint_suffix (e.g. local.azurestack.external), "
            "or storage.blob_endpoint, or pass --account/--endpoint-suffix/--blob-endpoint",
        )
    suffix = storage.endpoint_suffix.strip(".")
    if suffix.startswith("blob."):
        suffix = suffix[len("blob.") :]
    return f"https://{storage.account}.blob.{suffix}"


def account_name(storage: StorageSettings, endpoint: str) -> str:
    """The account: configured, else the first label of the endpoint host, else the first path segment
    (path-style endpoints such as Azurite's `http://127.0.0.1:10000/devstoreaccount1`)."""
    if storage.account:
        return storage.account
    parts = urlsplit(endpoint)
    path = parts.path.strip("/")
    return path.split("/")[0] if path else (parts.hostname or "").split(".")[0]


def connection_string(endpoint: str, account: str, credential: Credential) -> str:
    """The connection string DVC (and our own clients) use for this endpoint and credential."""
    scheme = urlsplit(endpoint).scheme
    if credential.kind == "key":
        return (
            f"DefaultEndpointsProtocol={scheme};AccountName={account};AccountKey={credential.secret};"
            f"BlobEndpoint={endpoint};"
        )
    return f"BlobEndpoint={endpoint};SharedAccessSignature={credential.secret.lstrip('?')};"


def parse_connection_string(value: str) -> dict[str, str]:
    """`Key=Value;...` into a dict; values keep their `=` (account keys end in `==`)."""
    pairs = (item.split("=", 1) for item in value.split(";") if "=" in item)
    return {key.strip(): val.strip() for key, val in pairs}


def credential_from_env(kind: str | None) -> Credential | None:
    """The credential in `AZURE_STORAGE_SAS_TOKEN` / `AZURE_STORAGE_KEY`, honouring an explicit `kind`."""
    reject_entra(kind)
    for env, env_kind in ((ENV_SAS, "sas"), (ENV_KEY, "key")):
        if kind in (None, env_kind) and os.environ.get(env):
            credential = Credential(env_kind, os.environ[env].strip())
            if env_kind == "key":
                check_account_key(credential.secret, source=env)
            return credential
    return None


def check_account_key(key: str, source: str) -> None:
    """An account key is base64 (64 bytes): anything else fails every request with a signing error."""
    import base64
    import binascii

    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise EdgeTrainError(
            f"{source}: the account key is not valid base64",
            hint="copy the key again from the ASH portal (Storage account → Access keys); it ends in '=='",
        ) from None


def check_connection_string(conn_str: str, source: str) -> dict[str, str]:
    """The fields of a connection string, or an error naming `source` when it cannot work."""
    fields = parse_connection_string(conn_str)
    has_endpoint = "BlobEndpoint" in fields or {"AccountName", "EndpointSuffix"} <= fields.keys()
    has_secret = "SharedAccessSignature" in fields or "AccountKey" in fields
    if not has_endpoint or not has_secret:
        missing = "BlobEndpoint (or AccountName + EndpointSuffix)" if not has_endpoint else "a credential"
        raise EdgeTrainError(
            f"{source}: the connection string has no {missing}",
            hint="run `edge-train data remote set` to write it (BlobEndpoint=https://...;"
            "SharedAccessSignature=...;), docs/data.md",
        )
    endpoint = fields.get("BlobEndpoint")
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise EdgeTrainError(
            f"{source}: BlobEndpoint is not an http(s) URL",
            hint="run `edge-train data remote set` to write it again",
        )
    if "AccountKey" in fields:
        check_account_key(fields["AccountKey"], source=source)
    return fields


def reject_entra(kind: str | None) -> None:
    if kind == "entra":
        raise EdgeTrainError(
            "Azure Stack Hub blob storage has no Entra ID (Azure AD) authentication",
            hint=f"use a SAS token ({ENV_SAS}) or the account key ({ENV_KEY}); both stay in "
            ".dvc/config.local, never in git",
        )


# Transfers in flight. DVC's default (4 x cores) is 8 on a 2-core runner; many small blobs over a link with
# more latency than loopback want more, and bench_storage measures DVC against a baseline with 16.
REMOTE_JOBS = 16


def configure_dvc_remote(root: Path, name: str, container: str, conn_str: str, make_default: bool) -> None:
    """Write the remote: URL and `jobs` in `.dvc/config` (committed), the secret in `.dvc/config.local`."""
    from dvc.config import Config

    config = Config(dvc_dir=str(root / ".dvc"))
    with config.edit("repo") as conf:
        conf["remote"][name] = {"url": f"azure://{container}", "jobs": REMOTE_JOBS}
        if make_default:
            conf["core"]["remote"] = name
    with config.edit("local") as conf:
        conf["remote"][name] = {"connection_string": conn_str}
    os.chmod(root / ".dvc" / "config.local", 0o600)


def dvc_connection_string(root: Path, name: str) -> tuple[str, str]:
    """(container, connection string) of DVC remote `name`, as DVC itself would resolve them."""
    from dvc.config import Config

    remote = Config(dvc_dir=str(root / ".dvc"))["remote"].get(name)
    if not remote or not str(remote.get("url", "")).startswith("azure://"):
        raise EdgeTrainError(
            f".dvc/config: no azure remote named '{name}'",
            hint="run `edge-train data remote set` first (docs/data.md)",
        )
    container = str(remote["url"])[len("azure://") :].split("/")[0]
    conn_str = remote.get("connection_string")
    source = f".dvc/config.local: remote '{name}' connection_string"
    if not conn_str and os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
        conn_str, source = os.environ["AZURE_STORAGE_CONNECTION_STRING"], "AZURE_STORAGE_CONNECTION_STRING"
    if not conn_str:
        raise EdgeTrainError(
            f".dvc/config.local: remote '{name}' has no connection_string",
            hint="run `edge-train data remote set` or set AZURE_STORAGE_CONNECTION_STRING",
        )
    check_connection_string(conn_str, source)
    return container, conn_str
