"""Run a step's `main` as a command: the same clear errors as `edge-train`, for DVC and Azure ML alike."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer


def run_step(main: Callable[..., object]) -> None:
    from ml.cli import run_app

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(main)
    sys.exit(run_app(app))
