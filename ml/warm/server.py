"""The warm step server: one interpreter imports the steps' libraries once; each step runs in a fork of it.

A step process used to spend most of its time at 10k rows importing (scikit-learn with SciPy about 2 s of
CPU, skops.io about 1.5 s more, since it loads every estimator), and `edge-train run` starts four of them.
The server forks the first step at once, cold, then imports `ml.steps.WARM_IMPORTS` while that step runs;
every later step is a fork of the warm interpreter and starts with its libraries loaded.

A forked step is the step as `python -m` would run it: the shim's argv, folder, environment and standard
streams, default signal handling, its own exit code. The server handles one step at a time (DVC runs the
stages one after another) and ends with the runner: when told to, or when its parent is gone.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import io
import json
import os
import runpy
import select
import signal
import socket
import struct
import sys
import threading
import traceback

from ml.warm.shim import SERVER_ENV

POLL_SECONDS = 0.02
"""How often the server looks at a running step and at the shim standing for it."""


def serve(listener: socket.socket) -> None:
    """Accept steps on `listener` (a Unix socket the runner bound) until the runner ends this process or
    goes away."""
    parent = os.getppid()
    listener.settimeout(1.0)
    warming: threading.Thread | None = None
    while os.getppid() == parent:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        connection.settimeout(None)
        with connection:
            step = _receive(connection)
            if step is None:
                continue
            if warming is not None:
                warming.join()  # fork with no other thread running, and with the libraries loaded
            pid = os.fork()
            if pid == 0:
                listener.close()
                _join(0, step[0]["pgid"])
                _become(connection, *step)
            joined = _join(pid, step[0]["pgid"])  # both sides, as a shell does: whichever runs first
            for fd in step[1]:
                os.close(fd)
            if warming is None:
                warming = threading.Thread(target=_warm_up, daemon=True)
                warming.start()
            status = _wait(pid, connection, joined)
            with contextlib.suppress(OSError):  # the shim is gone; so is the step
                connection.sendall(struct.pack("!i", status))


def _warm_up() -> None:
    """Import what the steps use; a library that fails to import here is the step's to report."""
    from ml.steps import WARM_IMPORTS

    for name in WARM_IMPORTS:
        try:
            importlib.import_module(name)
        except Exception:  # the step imports it again, and shows the real error
            continue
    gc.collect()
    gc.freeze()  # forks share these pages: the collector must not touch them in every step


def _receive(connection: socket.socket) -> tuple[dict, list[int]] | None:
    """A step request: its JSON and the shim's standard streams (None if the shim went away meanwhile)."""
    header, fds, _, _ = socket.recv_fds(connection, 8, 3)
    if len(header) < 8:
        for fd in fds:
            os.close(fd)
        return None
    (size,) = struct.unpack("!Q", header)
    body = bytearray()
    while len(body) < size:
        chunk = connection.recv(min(size - len(body), 1 << 20))
        if not chunk:
            for fd in fds:
                os.close(fd)
            return None
        body += chunk
    return json.loads(body), fds


def _join(pid: int, group: int) -> bool:
    """Put the step in the shim's process group (possible within one session); False if it cannot be."""
    with contextlib.suppress(OSError):  # the child moved itself already, or has ended
        os.setpgid(pid, group)
    try:
        return os.getpgid(pid) == group
    except OSError:
        return False


def _wait(pid: int, connection: socket.socket, joined: bool) -> int:
    """The step's exit code (-N if signal N ended it), forwarding the signals the shim received (not
    SIGINT when the step is in the shim's group: the group got it); if the shim itself is killed, the
    step is too, as a plain step process would be."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        readable, _, _ = select.select([connection], [], [], POLL_SECONDS)
        if not readable:
            continue
        try:
            received = connection.recv(16)
        except OSError:
            received = b""
        for number in received or bytes([signal.SIGKILL]):
            if not (joined and number == signal.SIGINT):
                os.kill(pid, number)
        if not received:
            os.waitpid(pid, 0)
            return -signal.SIGKILL


def _become(connection: socket.socket, step: dict, fds: list[int]) -> None:
    """In the fork: turn into the step the shim stands for, run it, and exit with its code."""
    connection.close()
    for target in (0, 1, 2):
        if target in step["fds"]:
            fd = fds[step["fds"].index(target)]
            os.dup2(fd, target)
        else:
            os.close(target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    _fresh_streams()
    os.chdir(step["cwd"])
    os.environ.clear()
    os.environ.update(step["env"])
    ignored = set(step["ignored"])  # what the shim inherited ignored, the step ignores, as Python would
    signal.signal(signal.SIGINT, signal.SIG_IGN if signal.SIGINT in ignored else signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_IGN if number in ignored else signal.SIG_DFL)
    _, module, *args = step["argv"]
    sys.argv = [module, *args]
    sys.path[0] = step["cwd"]
    if importlib.util.find_spec(module) is None:  # as `python -m` says it, without a traceback
        print(f"{sys.executable}: No module named {module}", file=sys.stderr)
        _flush()
        os._exit(1)
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = _exit_code(exc)
    except KeyboardInterrupt:
        traceback.print_exc()
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:  # as the interpreter does: the traceback, then exit code 1
        traceback.print_exc()
        code = 1
    _flush()
    os._exit(code)


def _fresh_streams() -> None:
    """sys.std* for the step's own streams: buffering follows whether each is a terminal, as at startup."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        old = getattr(sys, name)
        try:
            os.fstat(fd)
        except OSError:
            setattr(sys, name, None)
            continue
        raw = open(fd, mode + "b", closefd=False)  # noqa: SIM115 - sys.stdout's, open for the step's life
        stream = io.TextIOWrapper(
            raw,
            encoding=old.encoding if old else None,
            errors=old.errors if old else None,
            line_buffering=fd == 2 or os.isatty(fd),
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()


if __name__ == "__main__":
    os.environ.pop(SERVER_ENV, None)
    serve(socket.socket(fileno=int(sys.argv[1])))
