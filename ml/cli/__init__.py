"""The `edge-train` command line (also `python -m ml`).

Each command group lives in its own module and imports heavy libraries (azure-ai-ml, mlflow, dvc) only inside
the commands that need them, so `edge-train --help` answers in well under a second.
"""

from __future__ import annotations

import sys

import typer

from ml.cli import azure, data, params, pipeline, release, report, run
from ml.errors import EdgeTrainError

app = typer.Typer(
    name="edge-train",
    help="Train next to the data, ship the model anywhere: the local embedded run and the Azure edge run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(run.run)
app.add_typer(data.app, name="data")
app.add_typer(params.app, name="params")
app.add_typer(pipeline.app, name="pipeline")
release.add_commands(app)
app.command("report")(report.report)
app.add_typer(azure.app, name="azure")
app.command("submit")(azure.submit)
app.command("init")(azure.init)
app.command("doctor")(azure.doctor)


def run_app(typer_app: typer.Typer, args: list[str] | None = None) -> int:
    """Run a Typer app the way users should see it: `EdgeTrainError` as message + hint, no traceback."""
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


def main() -> None:
    from ml.telemetry import disable_telemetry

    disable_telemetry()
    sys.exit(run_app(app))
