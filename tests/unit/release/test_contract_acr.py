"""ACR login without a daemon, checked at the HTTP boundary: ACR itself is unreachable from tests.

A loopback server plays ACR's `/oauth2/exchange` as documented: a form POST with grant_type=access_token,
service, tenant and access_token, answered with `{"refresh_token": ...}`.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ml.errors import EdgeTrainError
from ml.release.acr import ACR_USERNAME, exchange_refresh_token, is_acr
from ml.release.image import registry_authfile

REGISTRY = "myacr.azurecr.io"


class FakeAcr:
    def __init__(self, status: int = 200, body: object = None) -> None:
        self.status, self.body, self.requests = status, body, []


@pytest.fixture
def acr(request: pytest.FixtureRequest) -> Iterator[tuple[FakeAcr, str]]:
    fake = FakeAcr(*getattr(request, "param", (200, {"refresh_token": "acr-refresh"})))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            fake.requests.append(
                (
                    self.path,
                    self.headers["Content-Type"],
                    urllib.parse.parse_qs(self.rfile.read(length).decode()),
                )
            )
            body = json.dumps(fake.body).encode()
            self.send_response(fake.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_contract_exchange_posts_the_entra_token_as_acr_documents(acr) -> None:
    fake, url = acr
    token = exchange_refresh_token(REGISTRY, "entra-access", tenant="tenant-1", base_url=url)
    assert token == "acr-refresh"
    ((path, content_type, form),) = fake.requests
    assert path == "/oauth2/exchange"
    assert content_type == "application/x-www-form-urlencoded"
    assert form == {
        "grant_type": ["access_token"],
        "service": [REGISTRY],
        "tenant": ["tenant-1"],
        "access_token": ["entra-access"],
    }


@pytest.mark.parametrize("acr", [(401, {"errors": [{"code": "UNAUTHORIZED"}]})], indirect=True)
def test_contract_a_refused_token_says_which_role_is_missing(acr) -> None:
    _, url = acr
    with pytest.raises(EdgeTrainError, match=r"refused the Entra ID token \(HTTP 401\)") as info:
        exchange_refresh_token(REGISTRY, "entra-access", base_url=url)
    assert "AcrPush" in info.value.hint
    assert "entra-access" not in str(info.value) + info.value.hint


@pytest.mark.parametrize("acr", [(200, {"access_token": "wrong-kind"})], indirect=True)
def test_contract_an_answer_without_refresh_token_is_an_error(acr) -> None:
    _, url = acr
    with pytest.raises(EdgeTrainError, match="without a refresh_token"):
        exchange_refresh_token(REGISTRY, "entra-access", base_url=url)


def test_the_refresh_token_reaches_buildah_in_a_private_authfile_only() -> None:
    import base64
    import stat

    with registry_authfile(REGISTRY, ACR_USERNAME, "acr-refresh") as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        auth = json.loads(path.read_text())["auths"][REGISTRY]["auth"]
        assert base64.b64decode(auth).decode() == f"{ACR_USERNAME}:acr-refresh"
    assert not path.exists()


def test_only_azurecr_hosts_get_an_acr_login() -> None:
    assert is_acr("myacr.azurecr.io") and is_acr("myacr.azurecr.io/team")
    assert not is_acr("127.0.0.1:5000") and not is_acr("ghcr.io")


@pytest.mark.parametrize("registry", ["myacr.azurecr.io", "myacr.azurecr.io/team"])
def test_contract_push_logs_in_to_acr_through_the_token_exchange(acr, monkeypatch, registry: str) -> None:
    """`edge-train push` to `[image] registry = "<acr>.azurecr.io"`: Entra ID token → exchange → authfile."""
    import base64

    from ml.config import Settings
    from ml.release import acr as acr_module
    from ml.release.pipeline import _credentials

    fake, url = acr
    real_exchange = acr_module.exchange_refresh_token
    monkeypatch.setattr(acr_module, "entra_token", lambda scope=acr_module.ARM_SCOPE: "entra-access-token")
    monkeypatch.setattr(
        acr_module,
        "exchange_refresh_token",
        lambda reg, token, tenant=None: real_exchange(reg, token, tenant, base_url=url),
    )
    with _credentials(Settings(image={"registry": registry})) as authfile:
        auth = json.loads(authfile.read_text())["auths"]["myacr.azurecr.io"]["auth"]
        assert base64.b64decode(auth).decode() == f"{ACR_USERNAME}:acr-refresh"
        assert oct(authfile.stat().st_mode & 0o777) == "0o600"
    assert not authfile.exists()
    ((path, _, form),) = fake.requests
    assert path == "/oauth2/exchange" and form["access_token"] == ["entra-access-token"]
    assert form["service"] == ["myacr.azurecr.io"]


@pytest.mark.parametrize("registry", ["", "127.0.0.1:5000"])
def test_no_acr_login_for_layouts_and_loopback_registries(monkeypatch, registry: str) -> None:
    from ml.config import Settings
    from ml.release import acr as acr_module
    from ml.release.pipeline import _credentials

    monkeypatch.setattr(acr_module, "entra_token", lambda *a: pytest.fail("asked Entra ID for a token"))
    with _credentials(Settings(image={"registry": registry})) as authfile:
        assert authfile is None
