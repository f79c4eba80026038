"""Loopback servers that misbehave the ways real endpoints do: refuse, never answer, or answer 502.

Threads in the test process (not child processes): they only accept sockets and hold or answer them, and
a corpus case must start and stop one in milliseconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
    b"Connection: close\r\n\r\nbad gateway"
)


def refusing_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def misbehaving_server(mode: str) -> Iterator[int]:
    """Yield the port of a server that `hang`s (accepts, reads, never answers) or answers `502`."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if mode == "hang":
                held.append(conn)  # keep it open, say nothing
                continue
            with contextlib.suppress(OSError):
                conn.settimeout(1)
                request = conn.recv(65536)
                # A HEAD answer has headers only: a body after them is a protocol error to strict clients.
                conn.sendall(
                    BAD_GATEWAY.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                    if request.startswith(b"HEAD")
                    else BAD_GATEWAY
                )
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
        for conn in held:
            conn.close()
