"""Run a command the way users should see it, for `edge-train` and for every step that DVC or Azure ML runs.

`EdgeTrainError` is printed as message + hint, never a traceback. A step, and `edge-train`, end with a fast
exit once their outputs are written: the interpreter's final garbage collection over everything DVC, MLflow
and scikit-learn loaded costs about a second per process and does nothing a finished command needs.
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

    command = typer.main.get_command(typer_app)
    _flags_take_no_value(command)
    try:
        name = typer_app.info.name if isinstance(typer_app.info.name, str) else None
        result = command.main(args=args, prog_name=name, standalone_mode=False)
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


def _flags_take_no_value(command: object) -> None:
    """Show `--push`, not `--push <bool>`, in help: typer 0.29 gives every flag a type column (the issue's
    newcomer read it as "takes a value"). An empty metavar leaves the column blank for flags only."""
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False):
            param.metavar = ""
    make_help_option = command.get_help_option  # type: ignore[attr-defined]

    def help_option(ctx: object) -> object:  # click builds --help per invocation
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _flags_take_no_value(sub)


def run_step(main: Callable[..., object]) -> None:
    """Run a step's `main` as a command, then exit without the interpreter's teardown.

    Every output is closed (written to a temp name, then moved in) before `main` returns, and MLflow's
    stores commit each call, so nothing is lost by skipping teardown; streams and log handlers are flushed.
    """
    module = getattr(sys.modules["__main__"].__spec__, "name", None)  # run as `python -m ml.steps.x`
    app = typer.Typer(
        name=f"python -m {module}" if module else None, add_completion=False, pretty_exceptions_enable=False
    )
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
