"""Which data files changed since the base (from `dvc diff`), with row counts of CSV files on each side.

Only counts leave this module, never a row: the report goes to PR comments and job summaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ml.paths import DATA_DIR

if TYPE_CHECKING:
    from dvc.repo import Repo

Kind = Literal["added", "deleted", "modified", "renamed"]


@dataclass(frozen=True)
class DataChange:
    path: str
    kind: Kind
    base_rows: int | None = None
    head_rows: int | None = None


def data_changes(repo: Repo, root: Path, base_rev: str) -> list[DataChange]:
    """Files under data/ that differ between `base_rev` and this change, sorted by path.

    "This change" is the working tree when data/ is checked out (a local run), else the HEAD commit: a CI
    runner that sent the run to the edge never has the data, and that is not a deletion.
    """
    head_rev = None if (root / DATA_DIR).exists() else "HEAD"
    result = repo.diff(a_rev=base_rev, b_rev=head_rev, targets=[DATA_DIR])
    changes: list[DataChange] = []
    for kind in ("added", "deleted", "modified"):
        for entry in result.get(kind, []):
            path = entry["path"]
            base_rows = None if kind == "added" else _rows_at(root, base_rev, path)
            head_rows = (
                None
                if kind == "deleted"
                else (_rows_in_file(root / path) if head_rev is None else _rows_at(root, head_rev, path))
            )
            changes.append(DataChange(path, kind, base_rows, head_rows))
    for entry in result.get("renamed", []):
        changes.append(DataChange(f"{entry['path']['old']} → {entry['path']['new']}", "renamed"))
    return sorted(without_redundant_dirs(changes), key=lambda change: change.path)


def without_redundant_dirs(changes: list[DataChange]) -> list[DataChange]:
    """`dvc diff` lists a changed directory and its changed files; the directory row says nothing more.

    It stays when it is the only row: the base's file list is not in the cache, so the files are unknown.
    """
    return [
        change
        for change in changes
        if not (
            change.path.endswith("/")
            and any(other.path.startswith(change.path) and other is not change for other in changes)
        )
    ]


def count_rows(lines: int, ends_with_newline: bool) -> int:
    """Data rows of a CSV with a header, from its newline count."""
    return max(lines + (0 if ends_with_newline else 1) - 1, 0)


def _rows_in_file(path: Path) -> int | None:
    if path.suffix != ".csv" or not path.is_file():
        return None
    with path.open("rb") as handle:
        return _rows_in_stream(handle)


def _rows_at(root: Path, rev: str, path: str) -> int | None:
    """Rows of the base version, read from the DVC cache (or remote); None when neither has it."""
    if not path.endswith(".csv"):
        return None
    import dvc.api
    from dvc.exceptions import DvcException

    try:
        with dvc.api.open(path, repo=str(root), rev=rev, mode="rb") as handle:
            return _rows_in_stream(handle)
    except (DvcException, OSError):
        return None


def _rows_in_stream(handle) -> int | None:
    lines, last, empty = 0, b"", True
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        lines += chunk.count(b"\n")
        last, empty = chunk[-1:], False
    return None if empty else count_rows(lines, last == b"\n")
