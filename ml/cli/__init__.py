"""The `edge-train` command line (also `python -m ml`).

Each command group lives in its own module and imports heavy libraries (azure-ai-ml, mlflow, dvc) only inside
the commands that need them, so `edge-train --help` answers in well under a second.
"""

from __future__ import annotations

import typer

from ml.cli import azure, data, deploy, params, pipeline, release, report, run
from ml.stepkit import fast_exit, run_app

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
app.command("deploy")(deploy.deploy)

__all__ = ["app", "main", "run_app"]


def main() -> None:
    """Run the command, then exit without the interpreter's teardown (`fast_exit`): collecting everything
    DVC and MLflow loaded cost `edge-train run` about a second after its work was done (issue 13)."""
    from ml.telemetry import disable_telemetry

    disable_telemetry()
    fast_exit(run_app(app))
