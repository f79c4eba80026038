"""Shared test fixtures: a socket guard for every test, and helpers to find tools or fail in CI.

Tests talk only to loopback servers they start themselves. The guard turns any other connection attempt
(Azure, PyPI, the instance metadata address 169.254.169.254) into an immediate failure.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _is_loopback(address: object) -> bool:
    if isinstance(address, str | bytes):
        return True  # a Unix socket path
    if not (isinstance(address, tuple) and address):
        return False
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a non-loopback address: tests must never reach the network."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}: only loopback is allowed")
        return real_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}: only loopback is allowed")
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


def require_tool(name: str, install_hint: str) -> str:
    """The path of a tool a test needs: skip with the install hint on a user's machine, fail in CI."""
    path = shutil.which(name) or _local_tool(name)
    if path:
        return path
    unavailable(f"{name} is not installed: {install_hint}")


def require_command(command: list[str], reason: str) -> list[str]:
    """`command` if `command true` works here (an `unshare` the kernel may refuse); else unavailable."""
    probe = shutil.which(command[0]) and subprocess.run([*command, "true"], capture_output=True, check=False)
    if not probe or probe.returncode != 0:
        unavailable(reason)
    return command


def unavailable(message: str) -> NoReturn:
    """What a test does without something it needs: skip with `message` on a user's machine, fail in CI."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _local_tool(name: str) -> str | None:
    candidate = REPO_ROOT / ".tools" / "node_modules" / ".bin" / name
    return str(candidate) if candidate.exists() else None
