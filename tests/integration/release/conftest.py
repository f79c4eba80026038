"""Fixtures for the release tests: a real OCI registry on loopback, and a test base image."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_registry(tmp: Path, readonly: bool = False) -> tuple[subprocess.Popen, str]:
    """Debian's docker-registry with our own config: 127.0.0.1 only, no auth, storage in `tmp`."""
    binary = require_tool("docker-registry", "apt-get install docker-registry (or: make test-tools)")
    port = free_port()
    config = tmp / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error}\n"
        f"storage:\n  filesystem: {{rootdirectory: {tmp / 'data'}}}\n"
        f"  maintenance: {{readonly: {{enabled: {str(readonly).lower()}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', secret: test-only}}\n"
    )
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
            return process, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("docker-registry did not start")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, address = start_registry(tmp_path_factory.mktemp("registry"))
    yield address
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def refusing_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry in read-only maintenance mode: it answers reads and refuses every push."""
    process, address = start_registry(tmp_path_factory.mktemp("readonly-registry"), readonly=True)
    yield address
    process.terminate()
    process.wait(timeout=10)
