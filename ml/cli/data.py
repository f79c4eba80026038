"""`edge-train data`: restore the data DVC tracks, and generate synthetic data of the same shape."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="The training data: restore it, or generate synthetic data of the same schema.", no_args_is_help=True
)


@app.command("restore")
def restore() -> None:
    """Make data/ match data.dvc: `dvc pull`, or re-create the example data on a fresh clone."""
    from ml.data.restore import ensure_data
    from ml.dvc import open_repo
    from ml.paths import repo_root

    root = repo_root()
    with open_repo(root) as repo:
        ensure_data(repo, root)


@app.command("synth")
def synth(
    rows: int = typer.Option(100_000, min=10, help="number of rows"),
    out: Path = typer.Option(..., help="CSV file to write"),
    seed: int = typer.Option(0),
) -> None:
    """Write synthetic rows with the example schema (no real row is copied): for benchmarks and tests."""
    from ml import console
    from ml.atomic import atomic_write_text
    from ml.data.synthetic import synthetic_frame

    atomic_write_text(out, synthetic_frame(rows, seed).to_csv(index=False, lineterminator="\n"))
    console.done(f"wrote {rows} synthetic rows to {out}")
