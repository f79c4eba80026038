"""`python` for the duration of `edge-train run`: a pipeline step goes to the warm step server, anything
else to the real interpreter.

A `python` script in a folder put first on PATH runs this file with `-IS`, so the stage commands in
dvc.yaml (`python -m ml.steps.train ...`) stay what DVC records and Azure ML runs. It uses the standard
library only and imports nothing of ours, so it starts in about 20 ms. Its process
stands for the step: it passes its stdin, stdout and stderr to the server, forwards the signals it gets, and
ends as the step ended (its exit code, or the signal that killed it).

Signals: the step joins this process's group, so what a group gets (Ctrl-C in a terminal, a closed
terminal, `kill` of the group) reaches the step directly, at the same instant, as it reaches a plain step.
A signal sent to this process alone is forwarded through the server, except SIGINT when the step is in the
group (a terminal's Ctrl-C would otherwise arrive twice, and cut the step's cleanup short).
"""

import contextlib
import json
import os
import signal
import socket
import struct
import sys

SERVER_ENV = "EDGE_TRAIN_STEP_SERVER"
STEP_MODULES = "ml.steps."
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def is_step(argv: list[str]) -> bool:
    """Only `python -m ml.steps.<name> ...`: the commands the pipeline compiles; any other use of `python`
    (a fork's own stage, a tool DVC calls) is the real interpreter's."""
    return len(argv) >= 2 and argv[0] == "-m" and argv[1].startswith(STEP_MODULES)


def real_python(argv: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, *argv])


def request(argv: list[str], ignored: list[int]) -> tuple[bytes, list[int]]:
    """The step as the server needs it: argv, folder, environment and this process's open standard streams."""
    streams = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            continue
        streams.append(fd)
    env = {key: value for key, value in os.environ.items() if key != SERVER_ENV}
    step = {
        "argv": argv,
        "cwd": os.getcwd(),
        "env": env,
        "fds": streams,
        "pgid": os.getpgrp(),
        "ignored": ignored,
    }
    body = json.dumps(step).encode()
    return body, streams


def main() -> None:
    argv = sys.argv[1:]
    address = os.environ.get(SERVER_ENV)
    if not address or not is_step(argv):
        real_python(argv)
    # A plain step inherits ignored signals (a background job in a script ignores SIGINT, nohup SIGHUP).
    ignored = [int(number) for number in FORWARDED if signal.getsignal(number) == signal.SIG_IGN]
    body, streams = request(argv, ignored)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)
        socket.send_fds(connection, [struct.pack("!Q", len(body))], streams)
        connection.sendall(body)
    except OSError:  # no server (it ended, or never started): the step runs as it would without one
        connection.close()
        real_python(argv)

    def forward(received: int, _frame: object) -> None:
        with contextlib.suppress(OSError):  # the server is gone: the reply below says so
            connection.send(bytes([received]))

    for number in FORWARDED:
        if number not in ignored:
            signal.signal(number, forward)
    reply = b""
    while len(reply) < 4:
        try:
            chunk = connection.recv(4 - len(reply))
        except InterruptedError:
            continue
        if not chunk:
            print("edge-train: the warm step server ended during the step", file=sys.stderr)
            os._exit(1)
        reply += chunk
    (status,) = struct.unpack("!i", reply)
    if status < 0:  # killed by a signal: end the same way, so DVC reports what a plain process would
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        status = 128 - status
    os._exit(status)


if __name__ == "__main__":
    main()
