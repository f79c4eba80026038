"""The pod reads the storage secret from Key Vault with the compute's managed identity, as Azure ML gives it.

Fakes at the HTTP boundary, with the documented response shapes: the Azure ML identity endpoint
(`MSI_ENDPOINT`/`MSI_SECRET`, api-version 2017-09-01, as azure-identity's `AzureMLCredential` calls it), and
Key Vault's secret GET (401 challenge, then 200/403/404,
https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret) served over TLS as
`kv-edge.vault.azure.net` behind a loopback CONNECT proxy, so the SDK's challenge and host checks run
unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ml.edge.credential import read_secret
from ml.errors import EdgeTrainError

pytestmark = pytest.mark.integration

VAULT_HOST = "kv-edge.vault.azure.net"
VAULT = f"https://{VAULT_HOST}"
TOKEN = "fake-token-of-the-compute-identity"
SECRETS = {
    "edge-train-storage": "BlobEndpoint=https://ash.blob.local.azurestack.external;SharedAccessSignature=sv=x"
}
FORBIDDEN = "not-for-this-identity"


def tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for the vault's DNS name."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, VAULT_HOST)])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(VAULT_HOST)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = folder / "ca.pem", folder / "vault.pem", folder / "vault.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


class Identity(BaseHTTPRequestHandler):
    """Azure ML's managed identity endpoint (the App Service 2017-09-01 protocol)."""

    secret = "msi-secret"

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if self.headers.get("secret") != self.secret or query.get("api-version") != ["2017-09-01"]:
            return self.reply(400, {"error": "invalid_request", "error_description": "bad secret or version"})
        body = {
            "access_token": TOKEN,
            "expires_on": str(int(time.time()) + 3600),
            "resource": query["resource"][0],
            "token_type": "Bearer",
        }
        self.reply(200, body)

    def reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class Vault(Identity):
    """Key Vault's GET /secrets/{name}: a bearer challenge first, then the secret bundle or an error."""

    def do_GET(self) -> None:
        name = urlsplit(self.path).path.removeprefix("/secrets/").strip("/")
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            challenge = 'Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://vault.azure.net"'
            return self.reply(401, {"error": {"code": "Unauthorized"}}, {"WWW-Authenticate": challenge})
        if name == FORBIDDEN:
            error = {
                "code": "Forbidden",
                "message": "Caller is not authorized",
                "innererror": {"code": "ForbiddenByRbac"},
            }
            return self.reply(403, {"error": error})
        if name not in SECRETS:
            return self.reply(
                404,
                {
                    "error": {
                        "code": "SecretNotFound",
                        "message": f"A secret with (name/id) {name} was not found",
                    }
                },
            )
        self.reply(
            200, {"value": SECRETS[name], "id": f"{VAULT}/secrets/{name}/1", "attributes": {"enabled": True}}
        )


def serve(handler: type, context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class ConnectProxy:
    """A loopback CONNECT proxy that sends every tunnel to `upstream` (stands for the vault's public address).

    `close()` stops it without leaving a thread to fail: it shuts the listener and every tunnel socket down
    (which wakes the threads blocked on them), joins the threads, and only then closes the sockets. Closing a
    socket while a thread still reads it is what made that thread raise `OSError: Bad file descriptor`.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._closing = False
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._errors: list[str] = []
        self._start(self._accept)

    def _start(self, target: Callable[..., None], *args: socket.socket) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
            if self._closing:  # close() already shut the others down: this one must not block a thread
                _shut(sock)
        return sock

    def _accept(self) -> None:
        while True:
            try:
                client = self._track(self.listener.accept()[0])
                head = b""
                while b"\r\n\r\n" not in head and (chunk := client.recv(4096)):
                    head += chunk
                if not head.startswith(f"CONNECT {VAULT_HOST}:443 ".encode()):
                    self._errors.append(f"the proxy got {head[:80]!r}, not a CONNECT to {VAULT_HOST}:443")
                    _shut(client)
                    continue
                target = self._track(socket.create_connection(self.upstream))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            except OSError:
                if self._closing:
                    return
                raise
            self._start(_pipe, client, target)
            self._start(_pipe, target, client)

    def close(self) -> None:
        with self._lock:
            self._closing = True
        _shut(self.listener)  # wakes the accept() (closing alone would not)
        while True:
            with self._lock:
                sockets, threads = list(self._sockets), [t for t in self._threads if t.is_alive()]
            if not threads:
                break
            for sock in sockets:
                _shut(sock)
            for thread in threads:
                thread.join(timeout=10)
                assert not thread.is_alive(), f"a proxy thread did not stop: {thread.name}"
        for sock in [*sockets, self.listener]:
            sock.close()
        assert not self._errors, self._errors


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy a -> b until a's end of stream, then pass the end on; the proxy closes both later."""
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass  # one side reset the connection, or close() shut the tunnel down: the tunnel is over
    _shut(b, socket.SHUT_WR)


def _shut(sock: socket.socket, how: int = socket.SHUT_RDWR) -> None:
    with contextlib.suppress(OSError):  # already shut down, or the peer is gone
        sock.shutdown(how)


@pytest.fixture
def pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The pod's environment as Azure ML sets it for a compute with a managed identity."""
    ca, cert, key = tls_files(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    identity, vault = serve(Identity), serve(Vault, context)
    proxy = ConnectProxy(vault.server_address[:2])
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID", "DEFAULT_IDENTITY_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MSI_ENDPOINT", f"http://127.0.0.1:{identity.server_address[1]}/msi/token")
    monkeypatch.setenv("MSI_SECRET", Identity.secret)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    yield
    for server in (identity, vault):
        server.shutdown()
        server.server_close()
    proxy.close()


def test_the_pod_reads_the_secret_with_its_identity(pod: None) -> None:
    assert read_secret(VAULT, "edge-train-storage") == SECRETS["edge-train-storage"]


def test_a_missing_secret_names_the_command_that_stores_it(pod: None) -> None:
    started = time.monotonic()
    with pytest.raises(EdgeTrainError) as raised:
        read_secret(VAULT, "edge-train-storge")
    assert time.monotonic() - started < 10
    assert "has no secret 'edge-train-storge'" in raised.value.message
    assert "az keyvault secret set" in raised.value.hint


def test_an_identity_without_the_role_names_the_role(pod: None) -> None:
    with pytest.raises(EdgeTrainError) as raised:
        read_secret(VAULT, FORBIDDEN)
    assert "(403)" in raised.value.message and "Key Vault Secrets User" in raised.value.hint


def test_a_pod_without_an_identity_fails_in_seconds_naming_the_fix(
    pod: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSI_SECRET", "not-the-pods-secret")
    started = time.monotonic()
    with pytest.raises(EdgeTrainError) as raised:
        read_secret(VAULT, "edge-train-storage")
    assert time.monotonic() - started < 10
    assert "managed identity" in raised.value.message and "Key Vault Secrets User" in raised.value.hint
    assert SECRETS["edge-train-storage"] not in str(raised.value)
