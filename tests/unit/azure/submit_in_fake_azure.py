"""`edge-train submit --wait` as its own process against the fake Azure, for tests that send it signals.

Usage: python -m tests.unit.azure.submit_in_fake_azure <requests.json> [submit args...]
The job runs forever (until cancelled); every request the SDK made is written to <requests.json> on exit.
Only loopback connections are allowed, as in the test process.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

from requests.adapters import HTTPAdapter

from ml.cli import app, run_app

from .fake_azure import FakeAzure, FakeCredential


def refuse_network() -> None:
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1"):
            raise OSError(f"network blocked: {address!r}")
        return real_connect(sock, address)

    socket.socket.connect = connect


def main(record: Path, args: list[str]) -> int:
    refuse_network()
    fake = FakeAzure(job_states=["Running"])
    HTTPAdapter.send = lambda adapter, request, **kw: fake.send(adapter, request, **kw)
    import ml.azure.client

    ml.azure.client.default_credential = FakeCredential
    try:
        return run_app(app, ["submit", *args])
    finally:
        record.write_text(json.dumps([[r.method, r.path] for r in fake.requests]))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
