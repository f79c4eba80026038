"""Shape checks for Azure names, ids and endpoints, so a typo fails offline with the fix, not in Azure.

Each check returns the value unchanged or raises `ValueError` whose message says what a valid value looks
like; pydantic turns it into a `file: key: message` error. Empty strings mean "not set yet" and pass: `doctor`
reports missing values separately, naming the command that needs them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_WORKSPACE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")
_COMPUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,15}$")
_DATASTORE = re.compile(r"^[a-z0-9_]{1,255}$")
_ACR = re.compile(r"^[a-z0-9]{5,50}$")
_ARC_CLUSTER_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Kubernetes/connectedClusters/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


def check_guid(value: str) -> str:
    if value and not _GUID.match(value):
        raise ValueError(
            "must be a GUID like 00000000-0000-0000-0000-000000000000 "
            "(`az account show --query id` / `--query tenantId`)"
        )
    return value


def check_resource_group(value: str) -> str:
    if value and (not _RESOURCE_GROUP.match(value) or value.endswith(".")):
        raise ValueError("must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'")
    return value


def check_workspace(value: str) -> str:
    if value and not _WORKSPACE.match(value):
        raise ValueError("must be 3-33 letters, digits, '-' or '_', starting with a letter or digit")
    return value


def check_compute(value: str) -> str:
    if not _COMPUTE.match(value):
        raise ValueError("must be 2-16 letters, digits or '-', starting with a letter (e.g. edge-k8s)")
    return value


def check_datastore(value: str) -> str:
    if not _DATASTORE.match(value):
        raise ValueError("must be lowercase letters, digits or '_' (e.g. ash_blob)")
    return value


def check_acr(value: str) -> str:
    if value and not _ACR.match(value):
        lowered = re.sub(r"[^a-z0-9]", "", value.lower().removesuffix(".azurecr.io"))
        suggestion = f" (did you mean {lowered!r}?)" if _ACR.match(lowered) else ""
        raise ValueError(f"must be the registry name only, 5-50 lowercase letters or digits{suggestion}")
    return value


def check_key_vault_url(value: str) -> str:
    """A vault URL as SecretClient takes it: https://<vault>.vault.azure.net (the job reads its secret)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if value and (parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/")):
        name = re.sub(r"[^a-z0-9-]", "", value.lower().split("//")[-1].split(".")[0])
        raise ValueError(f"must be the vault's URL, e.g. 'https://{name or '<vault>'}.vault.azure.net'")
    return value


def check_arc_cluster_id(value: str) -> str:
    """An Arc-connected cluster's ARM resource id: the only way Azure ML v2 attaches edge Kubernetes."""
    if not value:
        return value
    match = _ARC_CLUSTER_ID.match(value)
    if not match or not _GUID.match(match["sub"]):
        raise ValueError(
            "must be the Arc cluster's resource id: /subscriptions/<guid>/resourceGroups/<group>"
            "/providers/Microsoft.Kubernetes/connectedClusters/<name> (`az connectedk8s show --query id`)"
        )
    return value


def check_blob_endpoint(value: str) -> str:
    """`https://<account>.blob.<region>.<fqdn>`: the scheme matters, DVC and the SDK need a full URL."""
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"must start with https:// (e.g. https://{value.lstrip('/')})")
    if ".blob." not in parts.netloc:
        raise ValueError("must be the blob endpoint, https://<account>.blob.<region>.<fqdn>")
    return value.rstrip("/")


def endpoint_suffix(blob_endpoint: str) -> str:
    """The part after `<account>.blob.`: what `AzureBlobDatastore(endpoint=...)` wants."""
    host = urlsplit(blob_endpoint).netloc
    return host.split(".blob.", 1)[1]


def account_of(blob_endpoint: str) -> str:
    return urlsplit(blob_endpoint).netloc.split(".blob.", 1)[0]
