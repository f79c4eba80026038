"""doctor's storage probe speaks the API version Azure Stack Hub accepts, over real HTTP on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ml.azure.doctor import storage_check
from ml.config import Settings, StorageSettings

ASH_MAX_VERSION = "2019-07-07"


class StackBlob(BaseHTTPRequestHandler):
    """Answers like ASH blob: newer x-ms-version headers are refused with 400 InvalidHeaderValue."""

    seen: list[tuple[str, str]] = []  # noqa: RUF012 - shared with the test on purpose

    def do_GET(self) -> None:
        version = self.headers.get("x-ms-version", "")
        type(self).seen.append((self.path, version))
        if version > ASH_MAX_VERSION:
            self.send_response(400)
            self.send_header("x-ms-error-code", "InvalidHeaderValue")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        for name, value in (
            ("ETag", '"0x1"'),
            ("Last-Modified", "Mon, 23 Nov 2026 09:00:00 GMT"),
            ("x-ms-version", version),
            ("Content-Length", "0"),
        ):
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def stack_endpoint() -> Iterator[str]:
    StackBlob.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StackBlob)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ashacct"
    server.shutdown()
    server.server_close()


def settings_for(endpoint: str, api_version: str) -> Settings:
    return Settings(
        storage=StorageSettings(blob_endpoint=endpoint, container="edge-train", api_version=api_version)
    )


def test_the_probe_sends_the_pinned_version_and_the_sas_and_passes(stack_endpoint: str) -> None:
    check = storage_check(settings_for(stack_endpoint, ASH_MAX_VERSION), "?sv=2019-07-07&sig=planted-sas")

    assert check.status == "ok", check.detail
    ((path, version),) = StackBlob.seen
    assert version == ASH_MAX_VERSION
    assert path.startswith("/ashacct/edge-train?restype=container") and "sig=planted-sas" in path
    assert "planted-sas" not in check.detail


def test_a_version_newer_than_the_stack_accepts_is_reported_with_the_fix(stack_endpoint: str) -> None:
    check = storage_check(settings_for(stack_endpoint, "2021-08-06"), "sv=2019-07-07&sig=planted-sas")

    assert check.status == "fail"
    assert "x-ms-version 2021-08-06" in check.detail and "InvalidHeaderValue" in check.detail
    assert check.fix.startswith('set storage.api_version = "2019-07-07"')
    assert "planted-sas" not in check.detail + check.fix


def test_a_connection_string_alone_is_used_as_the_credential(stack_endpoint: str) -> None:
    connection = f"BlobEndpoint={stack_endpoint};SharedAccessSignature=sv=2019-07-07&sig=planted-sas"

    check = storage_check(settings_for(stack_endpoint, ASH_MAX_VERSION), "", connection)

    assert check.status == "ok", check.detail
    assert "sig=planted-sas" in StackBlob.seen[0][0]
