"""Loaded by every Python process of an emulated node (its folder is on PYTHONPATH): the node's network.

The Azure services a job reaches by name (`<vault>.vault.azure.net:443`, `<region>.api.azureml.ms:443`) are
answered by loopback fakes: names listed in EDGE_TRAIN_EMULATOR_HOSTS (JSON `{"host:port": loopback_port}`)
resolve to 127.0.0.1 and that port, so clients keep the real URLs, TLS host names and Key Vault's challenge
check. Any other connection that is not to loopback fails at once: the test never reaches the network.
Standard library only: this runs before anything else in the node's interpreter.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket

_HOSTS: dict[str, int] = json.loads(os.environ.get("EDGE_TRAIN_EMULATOR_HOSTS") or "{}")
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    name = host.decode() if isinstance(host, bytes) else host
    mapped = _HOSTS.get(f"{str(name).lower()}:{port}")
    if mapped is not None:
        return _real_getaddrinfo("127.0.0.1", mapped, socket.AF_INET, type, proto, flags)
    return _real_getaddrinfo(host, port, family, type, proto, flags)


def _allowed(sock: socket.socket, address: object) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return True
    host = address[0] if isinstance(address, tuple) and address else ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(address: object) -> OSError:
    return ConnectionRefusedError(
        f"emulated Azure ML node: connection to {address!r} blocked (only loopback and the emulated Azure "
        "services are reachable)"
    )


def _connect(sock, address):
    if not _allowed(sock, address):
        raise _refuse(address)
    return _real_connect(sock, address)


def _connect_ex(sock, address):
    if not _allowed(sock, address):
        raise _refuse(address)
    return _real_connect_ex(sock, address)


socket.getaddrinfo = _getaddrinfo
socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
