"""Our own blob clients (doctor, container creation): pinned, CA-aware, and quick to give up.

DVC's clients retry a bad host for 80+ seconds and ignore timeout settings; a command that checks the
remote must answer in seconds, so these clients have short timeouts and no retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ml.storage.pin import Pin
from ml.storage.remote import parse_connection_string

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 5


def service_client(conn_str: str, pin: Pin) -> BlobServiceClient:
    from azure.storage.blob import BlobServiceClient

    kwargs: dict[str, object] = {
        "connection_timeout": CONNECT_TIMEOUT_S,
        "read_timeout": READ_TIMEOUT_S,
        "retry_total": 0,
    }
    endpoint = parse_connection_string(conn_str).get("BlobEndpoint", "")
    if pin.applies_to(endpoint or "https://unknown"):
        kwargs["api_version"] = pin.api_version
    if pin.ca_bundle:
        kwargs["connection_verify"] = pin.ca_bundle
    return BlobServiceClient.from_connection_string(conn_str, **kwargs)
