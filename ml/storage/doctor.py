"""`edge-train data doctor`: check the DVC remote on ASH end to end, in seconds, and say what to fix.

Each layer is checked on its own, in the order a request crosses them (DNS, TCP, TLS, credential, API
version, container, write/read/delete of a probe blob), each with a short timeout, so the first failure
names its cause instead of surfacing as DVC's 80-second retry loop ending in "failed to push".
"""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from ml import console
from ml.errors import EdgeTrainError
from ml.storage.client import CONNECT_TIMEOUT_S, service_client
from ml.storage.diagnose import check_sas, explain_response, explain_tls, explain_unreachable
from ml.storage.pin import Pin, check_ca_bundle
from ml.storage.remote import parse_connection_string

DNS_TIMEOUT_S = 3.0
PROBE_PREFIX = ".edge-train-doctor"


@dataclass(frozen=True)
class Target:
    """What the doctor checks: the remote's container and connection string, and the pin in force."""

    container: str
    conn_str: str
    pin: Pin

    @property
    def fields(self) -> dict[str, str]:
        return parse_connection_string(self.conn_str)

    @property
    def endpoint(self) -> str:
        fields = self.fields
        if "BlobEndpoint" in fields:
            return fields["BlobEndpoint"].rstrip("/")
        scheme = fields.get("DefaultEndpointsProtocol", "https")
        suffix = fields.get("EndpointSuffix", "core.windows.net")
        return f"{scheme}://{fields.get('AccountName', '')}.blob.{suffix}"

    @property
    def sas(self) -> str | None:
        return self.fields.get("SharedAccessSignature")


def resolve_host(host: str, port: int, timeout: float = DNS_TIMEOUT_S) -> list[str]:
    """getaddrinfo with a deadline (it has none of its own): run it in a daemon thread and stop waiting."""
    result: list[object] = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            result.append(exc)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        raise EdgeTrainError(
            f"DNS: no answer for {host} within {timeout:.0f} s",
            hint="check storage.endpoint_suffix (or blob_endpoint) and this machine's DNS",
        )
    if isinstance(result[0], OSError):
        raise EdgeTrainError(
            f"DNS: {host} does not resolve ({result[0]})",
            hint="check storage.account and storage.endpoint_suffix (ASDK: "
            "local.azurestack.external) or storage.blob_endpoint",
        )
    return sorted({info[4][0] for info in result[0]})  # type: ignore[union-attr]


def check_tcp(host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise EdgeTrainError(
            f"TCP: cannot connect to {host}:{port} ({exc})",
            hint="check the endpoint's port, and that firewalls let this machine reach it",
        ) from None


def check_tls(host: str, port: int, ca_bundle: str | None) -> None:
    try:
        context = ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise EdgeTrainError(
            f"TLS: cannot read the CA bundle {ca_bundle} ({exc})",
            hint="point storage.ca_bundle at a PEM file of the CA certificates",
        ) from None
    try:
        with (
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return
    except ssl.SSLCertVerificationError as exc:
        raise explain_tls(host, exc) from None
    except (OSError, ssl.SSLError) as exc:
        raise EdgeTrainError(
            f"TLS: handshake with {host}:{port} failed ({exc})",
            hint="check that the endpoint speaks HTTPS on this port",
        ) from None


def run_doctor(target: Target) -> None:
    """Check every layer in order; print one line per check passed, raise at the first one failing."""
    from azure.core.exceptions import AzureError, HttpResponseError

    check_ca_bundle(target.pin)
    parts = urlsplit(target.endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve_host(host, port)
    console.done(f"DNS: {host} → {', '.join(addresses)}")
    check_tcp(host, port)
    console.done(f"TCP: {host}:{port} accepts connections")
    if parts.scheme == "https":
        check_tls(host, port, target.pin.ca_bundle)
        bundle = f" (CA bundle {target.pin.ca_bundle})" if target.pin.ca_bundle else ""
        console.done(f"TLS: certificate of {host} trusted{bundle}")
    else:
        console.warn(f"{target.endpoint} is plain HTTP: credentials and data cross the network unencrypted")
    if target.sas:
        check_sas(target.sas)
    container = service_client(target.conn_str, target.pin).get_container_client(target.container)
    version = target.pin.api_version if target.pin.applies_to(target.endpoint) else None

    def explained(exc: Exception) -> EdgeTrainError:
        return explain_response(
            exc, container=target.container, uses_sas=bool(target.sas), api_version=version
        )

    probe = f"{PROBE_PREFIX}/{uuid.uuid4().hex}"
    payload = uuid.uuid4().bytes * 64
    try:
        container.get_container_properties()
        console.done(
            f"credential, API version {version or '(SDK default)'} and container "
            f"'{target.container}': accepted"
        )
        container.upload_blob(probe, payload, overwrite=True)
        read_back = container.download_blob(probe).readall()
        container.delete_blob(probe)
    except HttpResponseError as exc:
        raise explained(exc) from None
    except AzureError as exc:  # no HTTP answer: refused, timed out, TLS
        raise explain_unreachable(host, exc) from None
    if read_back != payload:
        raise EdgeTrainError(
            "the probe blob read back differs from what was written",
            hint="something between here and the storage service alters data: check proxies",
        )
    console.done(f"write, read and delete of a probe blob in '{target.container}': OK")
