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

    command = typer.main.get_command(typer_app)
    _flags_take_no_value(command)
    try:
        result = command.main(args=args, prog_name=typer_app.info.name, standalone_mode=False)
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


def main() -> None:
    from ml.telemetry import disable_telemetry

    disable_telemetry()
    sys.exit(run_app(app))
