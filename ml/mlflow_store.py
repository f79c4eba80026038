"""Keep the checkout's own MLflow store pointing into the checkout after it was moved or copied.

MLflow's sqlite store records every artifact location as an absolute path (`<checkout>/mlruns/<id>/...`,
resolved when the experiment was created), and offers no setting to make them relative. After `mv` of the
checkout, runs and model versions still point at the old folder, and new runs write their artifacts there
(re-creating it). The store and `mlruns/` moved together, so the old prefix is replaced by the new one.

Only the store the checkout owns is touched: a relative `sqlite:///mlflow.db` (edge-train.toml's default),
never a store configured elsewhere or a tracking server. The commands that write to the store call
`follow_move` first (`run`, `register`); the steps, which `run` starts, do not need to, and so do not import
this module (a change here must not retrain the model on the edge).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from pathlib import Path

from ml.errors import EdgeTrainError

ARTIFACT_DIR = "mlruns"  # MLflow's default artifact root (./mlruns) next to the store
# An experiment's location as MLflow writes it: [file://]<folder>/mlruns/<experiment id>
_LOCATION = re.compile(rf"^(?:file://)?(/.*)/{ARTIFACT_DIR}/[0-9]+$")


def follow_move(root: Path) -> None:
    """The checkout's own store moved with it: re-root its artifact paths, and say so once. Cheap (one
    sqlite query, no MLflow import), so `edge-train run` calls it even when nothing else opens the store."""
    from ml import console
    from ml.config import load_settings

    uri = load_settings(root).tracking.uri
    if (
        os.environ.get("MLFLOW_TRACKING_URI")
        or not uri.startswith("sqlite:///")
        or uri.startswith("sqlite:////")
    ):
        return
    db = root / uri.removeprefix("sqlite:///")
    if old := rebase_moved_store(db, root):
        console.done(
            f"{db.name}: artifact paths moved from {old}/{ARTIFACT_DIR} to {root.as_posix()}/{ARTIFACT_DIR}"
        )


def rebase_moved_store(db: Path, root: Path) -> str | None:
    """Re-root artifact paths recorded under another checkout's `mlruns/`; return the old folder, if any."""
    if not db.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as con, con:
            old = _old_root(con, root)
            if old is None:
                return None
            for prefix in (f"file://{old}/{ARTIFACT_DIR}/", f"{old}/{ARTIFACT_DIR}/"):
                new = prefix.replace(old, root.as_posix(), 1)
                for table, column in _text_columns(con):
                    con.execute(
                        f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                        f'WHERE substr("{column}", 1, ?) = ?',
                        (new, len(prefix) + 1, len(prefix), prefix),
                    )
            return old
    except sqlite3.Error as exc:
        raise EdgeTrainError(
            f"{db.name} records artifact paths under another folder and could not be updated: {exc}",
            hint=f"check that {db.name} is writable and no other process holds it, then run again",
        ) from None


def _old_root(con: sqlite3.Connection, root: Path) -> str | None:
    try:
        locations = [row[0] for row in con.execute("SELECT artifact_location FROM experiments")]
    except sqlite3.Error:
        return None  # not (yet) an MLflow store: MLflow creates its tables on first use
    here = root.as_posix()
    for location in locations:
        match = _LOCATION.match(location or "")
        folder = match.group(1) if match else here
        # A folder inside the checkout is not a move: MLflow was once started from a subfolder.
        if folder != here and not folder.startswith(f"{here}/"):
            return folder
    return None


def _text_columns(con: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every text column of every table: MLflow's schema changes between versions, the prefix does not."""
    tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [
        (table, column[1])
        for table in tables
        for column in con.execute(f'PRAGMA table_info("{table}")')
        if "CHAR" in str(column[2]).upper() or "TEXT" in str(column[2]).upper()
    ]
