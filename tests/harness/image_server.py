"""A model image's scoring server, started from its unpacked root filesystem and ready when /ping answers.

The release and deploy tests both run the server the image ships (`python3 /srv/model/server.py`, under
chroot) and need it answering before they score; this is that start, wait and stop, once. The server's
output goes to a file (a pipe nobody reads fills up and stalls the server) and is quoted if it exits early
or never answers.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.harness.servers import free_port

READY_TIMEOUT = 120.0  # an unpacked image's first import of its model runtime is slow on a loaded machine


@contextmanager
def image_server(
    command: Sequence[str], env: Mapping[str, str], log: Path, timeout: float = READY_TIMEOUT
) -> Iterator[str]:
    """Run `command` with `env` plus HOST=127.0.0.1 and a free PORT; yield its URL once GET /ping answers.

    Raises AssertionError (with the server's output) if it exits or does not answer within `timeout` s;
    the server is stopped on exit either way.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            list(command),
            env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_ping(process, url, log, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_ping(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the image's server exited ({process.returncode}): {log.read_text()}")
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=1).close()
            return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"no answer from {url}/ping in {timeout:.0f} s; server output: {log.read_text()}")
