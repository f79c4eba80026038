"""`edge-train params`: check params.yaml against its schema before anything runs."""

from __future__ import annotations

import typer

app = typer.Typer(help="Hyperparameters in params.yaml.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Validate params.yaml against ml/steps/params.py; names the key on a wrong type or unknown key."""
    from ml import console
    from ml.params import load_params
    from ml.paths import PARAMS_FILE, repo_root

    load_params(repo_root())
    console.done(f"{PARAMS_FILE} is valid")
