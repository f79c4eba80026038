"""Run a command the way users should see it, for `edge-train` and for every step that DVC or Azure ML runs.

`EdgeTrainError` is printed as message + hint, never a traceback. A step ends with a fast exit once its
outputs are written: the interpreter's final garbage collection over everything MLflow and scikit-learn
loaded costs about a second per step and does nothing a finished step needs.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from collections.abc import Callable

import typer

from ml.errors import EdgeTrainError


def run_app(typer_app: typer.Typer, args: list[str] | None = None) -> int:
    """Run a Typer app and return its exit code: `EdgeTrainError` as message + hint, no traceback."""
    from rich.markup import escape

    from ml.console import err_console
    from ml.redact import mask_secrets

    try:
        result = typer_app(args=args, standalone_mode=False)
    except EdgeTrainError as exc:
        err_console.print(f"[red]error:[/red] {escape(mask_secrets(exc.message))}")
        if exc.hint:
            err_console.print(f"[dim]hint:[/dim] {escape(mask_secrets(exc.hint))}")
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except typer.TyperException as exc:  # usage errors; typer vendors its own click, so not click's classes
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        return getattr(exc, "exit_code", 2)
    return result if isinstance(result, int) else 0


def run_step(main: Callable[..., object]) -> None:
    """Run a step's `main` as a command, then exit without the interpreter's teardown.

    Every output is closed (written to a temp name, then moved in) before `main` returns, and MLflow's
    stores commit each call, so nothing is lost by skipping teardown; streams and log handlers are flushed.
    """
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(main)
    code = run_app(app)
    fast_exit(code)


def fast_exit(code: int) -> None:
    """Flush what the user must see, then leave without the final garbage collection."""
    gc.freeze()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken pipe: no reader left to tell
            stream.flush()
    os._exit(code)
