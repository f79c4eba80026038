"""`kubectl port-forward` as a context manager: the smoke test reaches a rolled-out Deployment's pods
from this machine without exposing them, and the forward ends with the block, whatever happens."""

from __future__ import annotations

import contextlib
import re
import select
import subprocess
import time
from collections.abc import Iterator

from ml.errors import EdgeTrainError

FORWARDING = re.compile(r"Forwarding from (?:127\.0\.0\.1|\[::1\]):(\d+)")


@contextlib.contextmanager
def port_forward(kubectl: list[str], resource: str, port: int, wait_seconds: float = 30) -> Iterator[str]:
    """Yield `http://127.0.0.1:<local port>` forwarded to `port` of `resource` (a free local port)."""
    process = subprocess.Popen(
        [*kubectl, "port-forward", resource, f":{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{_local_port(process, resource, wait_seconds)}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _local_port(process: subprocess.Popen, resource: str, wait_seconds: float) -> str:
    """Read kubectl's 'Forwarding from 127.0.0.1:PORT -> ...' line, within `wait_seconds`."""
    assert process.stdout is not None
    deadline = time.monotonic() + wait_seconds
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = process.stdout.readline()
        if not line:
            break
        seen = line.strip()
        if match := FORWARDING.search(line):
            return match[1]
    raise EdgeTrainError(
        f"kubectl port-forward {resource} did not start: {seen or f'no answer in {wait_seconds:.0f} s'}",
        hint="check that kubectl may port-forward in the namespace (pods/portforward)",
    )
