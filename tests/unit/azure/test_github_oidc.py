"""The GitHub Actions sign-in outlives its first access token: each new token asserts a fresh GitHub ID token.

Two loopback servers stand in for the services: GitHub's Actions OIDC token endpoint (plain HTTP, as the
runner's URL is handed in) and Entra ID's v2.0 token endpoint over TLS with a private CA (azure-identity
accepts only https authorities; AZURE_AUTHORITY_HOST points it at loopback). Their answers have the shapes
the services document: GitHub returns `{"count": ..., "value": "<jwt>"}` (docs.github.com, "OpenID Connect
reference"); Entra ID returns `token_type`, `expires_in`, `ext_expires_in`, `access_token` (Microsoft
identity platform, "client credentials flow", successful response).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ml.azure.client import default_credential
from ml.azure.github_oidc import AUDIENCE, github_id_token
from ml.config import AzureSettings
from ml.errors import EdgeTrainError
from tests.harness.tls import private_ca

TENANT = "22222222-2222-2222-2222-222222222222"
CLIENT = "33333333-3333-3333-3333-333333333333"
REQUEST_TOKEN = "actions-request-token-5e1f"
ARM_SCOPE = "https://management.azure.com/.default"


@dataclass
class Seen:
    """What each fake endpoint was asked, in order."""

    oidc: list[dict[str, str]] = field(default_factory=list)
    entra: list[dict[str, str]] = field(default_factory=list)


def serve(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seen]:
    seen = Seen()

    class Actions(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
            seen.oidc.append({"authorization": self.headers.get("Authorization", ""), **query})
            self._send({"count": 1, "value": f"github-id-token-{len(seen.oidc)}"})

        def _send(self, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Entra(Actions):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            seen.entra.append({"path": self.path, **form})
            # Expires at once, as the hour would in a long run: the next get_token needs a new one.
            self._send(
                {
                    "token_type": "Bearer",
                    "expires_in": 1,
                    "ext_expires_in": 1,
                    "access_token": f"access-token-{len(seen.entra)}",
                }
            )

    ca, cert, key = private_ca(tmp_path, "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    actions, entra = serve(Actions), serve(Entra, context)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"http://127.0.0.1:{actions.server_port}/token?api=1")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"https://127.0.0.1:{entra.server_port}")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    yield seen
    actions.shutdown()
    entra.shutdown()


def test_in_actions_each_new_access_token_asserts_a_fresh_github_id_token(endpoints: Seen) -> None:
    credential = default_credential()

    first = credential.get_token(ARM_SCOPE)
    time.sleep(1.2)  # the first access token has expired
    second = credential.get_token(ARM_SCOPE)

    assert type(credential).__name__ == "ClientAssertionCredential"
    assert (first.token, second.token) == ("access-token-1", "access-token-2")
    assert len(endpoints.oidc) == 2
    assert all(call["audience"] == AUDIENCE == "api://AzureADTokenExchange" for call in endpoints.oidc)
    assert all(call["authorization"] == f"Bearer {REQUEST_TOKEN}" for call in endpoints.oidc)
    assertions = [call["client_assertion"] for call in endpoints.entra]
    assert assertions == ["github-id-token-1", "github-id-token-2"]
    assert {call["path"] for call in endpoints.entra} == {f"/{TENANT}/oauth2/v2.0/token"}
    assert all(call["client_id"] == CLIENT and call["scope"] == ARM_SCOPE for call in endpoints.entra)
    assert all(call["grant_type"] == "client_credentials" for call in endpoints.entra)


def test_a_valid_access_token_is_reused_without_asking_github(endpoints: Seen) -> None:
    credential = default_credential()

    credential.get_token(ARM_SCOPE)
    credential.get_token(ARM_SCOPE)

    assert len(endpoints.oidc) == len(endpoints.entra) == 1


def test_the_app_and_tenant_may_come_from_edge_train_toml(
    endpoints: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_CLIENT_ID")
    monkeypatch.delenv("AZURE_TENANT_ID")

    default_credential(AzureSettings(tenant_id=TENANT, client_id=CLIENT)).get_token(ARM_SCOPE)

    assert endpoints.entra[0]["client_id"] == CLIENT
    assert endpoints.entra[0]["path"].startswith(f"/{TENANT}/")


def test_outside_actions_the_default_credential_chain_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)

    assert type(default_credential()).__name__ == "DefaultAzureCredential"


def test_an_unreachable_token_endpoint_is_one_clear_error() -> None:
    env = {"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "x"}

    with pytest.raises(EdgeTrainError) as raised:
        github_id_token(env)

    assert raised.value.message.startswith("GitHub Actions OIDC token request failed:")
    assert "id-token: write" in raised.value.hint
