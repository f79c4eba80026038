"""Ctrl-C, or a cancelled workflow, cancels the Azure ML job too: nothing keeps training after we stop.

GitHub cancels a step by sending SIGINT, waiting 7.5 s, sending SIGTERM, waiting 2.5 s, then killing the
process tree (docs.github.com, "Workflow cancellation reference"). So the cancel request leaves at once, with
short timeouts and no retries, and the confirmation is waited for at most `CONFIRM_SECONDS`: the whole
sequence ends well inside the first 7.5 s. A second signal while cancelling is ignored rather than cutting
the cancel short.

The runner signals only the step's entry process, and bash neither forwards a signal to the command it waits
for nor acts on it before that command ends: a workflow must `exec edge-train submit ...` so that the signal
reaches us (github.com/ringerc/github-actions-signal-handling-demo).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from ml import console
from ml.azure.retry import first_line
from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

# SIGHUP too: a runner has been seen hanging up instead of interrupting (actions/runner issue 1309).
# Windows has no SIGHUP (and sends Ctrl-C as SIGINT).
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
CONFIRM_SECONDS = 5.0
CANCEL_REQUEST = {"connection_timeout": 3, "read_timeout": 4, "retry_total": 0}
STOPPING = frozenset({"CancelRequested", "Canceled"})


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException like KeyboardInterrupt, so no `except Exception` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum


@contextmanager
def interruptible() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM raise `Interrupted` (once); the previous handlers come back on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def ignore(signum: int, frame: FrameType | None) -> None:
        console.warn(f"{signal.Signals(signum).name} ignored: cancelling the job first")

    def interrupt(signum: int, frame: FrameType | None) -> None:
        for sig in SIGNALS:
            signal.signal(sig, ignore)
        raise Interrupted(signum)

    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cancel_job(
    client: MLClient,
    name: str,
    interrupted: Interrupted,
    *,
    portal: str | None = None,
    confirm_seconds: float = CONFIRM_SECONDS,
) -> EdgeTrainError:
    """Cancel job `name` after `interrupted`; the error to exit with says what was done."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    console.warn(f"{interrupted.name} received: cancelling Azure ML job {name}")
    where = f"\n  job: {portal}" if portal else ""
    try:
        client.jobs.begin_cancel(name, polling=False, **CANCEL_REQUEST)
    except ResourceNotFoundError:
        return EdgeTrainError(
            f"interrupted ({interrupted.name}) before job {name} was created: nothing runs in Azure",
            exit_code=interrupted.exit_code,
        )
    except AzureError as error:
        return EdgeTrainError(
            f"interrupted ({interrupted.name}); cancelling job {name} failed: {first_line(error)}{where}",
            hint=f"cancel it in the studio, or run `az ml job cancel --name {name}` with your workspace",
            exit_code=interrupted.exit_code,
        )
    status = confirmed_status(client, name, confirm_seconds)
    if status in STOPPING:
        console.done(f"job {name}: {status}")
        what = f"job {name} cancelled ({status})"
    else:
        what = f"cancel of job {name} sent, unconfirmed after {confirm_seconds:.0f} s (last seen: {status})"
    return EdgeTrainError(
        f"interrupted ({interrupted.name}): {what}{where}",
        hint="nothing was downloaded; re-run `edge-train submit --wait` to train again",
        exit_code=interrupted.exit_code,
    )


def confirmed_status(
    client: MLClient, name: str, seconds: float, *, sleep: Callable[[float], None] = time.sleep
) -> str:
    """The job's status once Azure shows it stopping, or the last one seen when `seconds` run out.

    `jobs.get` takes no timeout of its own, so the polling runs in a daemon thread that is abandoned at the
    deadline: the process never waits on Azure longer than `seconds`.
    """
    seen = ["unknown"]
    done = threading.Event()

    def poll() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                job = client.jobs.get(name)
                seen[0] = str(getattr(job.status, "value", job.status))
            except Exception as error:  # any failure: keep the last status, try again until the deadline
                seen[0] = f"unreachable: {first_line(error)}"
            if seen[0] in STOPPING:
                break
            sleep(0.5)
        done.set()

    threading.Thread(target=poll, name=f"confirm-cancel-{name}", daemon=True).start()
    done.wait(seconds)
    return seen[0]
