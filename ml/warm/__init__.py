"""Run the pipeline's steps from one warm interpreter during `edge-train run` (see `server`).

`warm_steps()` starts the server, and puts a `python` first on PATH that hands `python -m ml.steps.*` to it
(`shim`); everything else, and a step when the server is unavailable, runs as before. The stage commands,
their outputs and DVC's records are the same either way; Azure ML runs each step in its own process on the
edge. `EDGE_TRAIN_WARM_STEPS=0` turns it off (to compare, or to rule it out).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ml.warm.shim import SERVER_ENV

SWITCH_ENV = "EDGE_TRAIN_WARM_STEPS"
STOP_SECONDS = 5


@contextlib.contextmanager
def warm_steps(root: Path) -> Iterator[None]:
    """For the `with` block: stage commands that run a step run in a fork of one warm server."""
    if os.environ.get(SWITCH_ENV, "1") == "0" or not hasattr(os, "fork") or os.environ.get(SERVER_ENV):
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="edge-train-steps."))
    server = None
    saved = {name: os.environ.get(name) for name in ("PATH", SERVER_ENV)}
    try:
        address = folder / "server.sock"
        shim = folder / "python"  # sh, not a `#!python` line: those break on a space or a long venv path
        script = Path(__file__).with_name("shim.py")
        command = f"{shlex.quote(sys.executable)} -IS {shlex.quote(str(script))}"
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        shim.chmod(0o755)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(address))  # bound here: a step that starts at once waits in the queue
            listener.listen(8)
            server = subprocess.Popen(
                [sys.executable, "-m", "ml.warm.server", str(listener.fileno())],
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=[listener.fileno()],
                process_group=0,  # not in the runner's group: Ctrl-C and killpg are for the steps
            )
        os.environ["PATH"] = os.pathsep.join([str(folder), os.environ.get("PATH", "")])
        os.environ[SERVER_ENV] = str(address)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if server is not None:
            _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
