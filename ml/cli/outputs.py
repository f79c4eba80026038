"""Check an output path before any work: commands write regular files only.

Outputs are written to a temp file next to the target and renamed over it (`ml.atomic`). Renamed over a
device, FIFO or symlink, that would silently replace `/dev/full` or `/dev/stdout` with a regular file, or
replace a link instead of writing where it points; renamed onto a directory it fails after all the work.
So such targets are refused up front, with the option that named them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ml.errors import EdgeTrainError


def check_output_file(path: Path, option: str) -> Path:
    """`path` if a regular file may be written there (new, or replacing a regular file); else an error."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise EdgeTrainError(
            f"{option} {path}: cannot inspect it ({exc.strerror})", hint="choose another path"
        ) from None
    if mode is not None and stat.S_ISLNK(mode):
        raise EdgeTrainError(
            f"{option} {path}: is a symlink; outputs are written only as regular files",
            hint=f"give the link's target ({os.path.realpath(path)}) or a new file name",
        )
    if mode is not None and stat.S_ISDIR(mode):
        raise EdgeTrainError(
            f"{option} {path}: is a directory", hint=f"give a file name inside it, e.g. {path / 'report.md'}"
        )
    if mode is not None and not stat.S_ISREG(mode):
        raise EdgeTrainError(
            f"{option} {path}: is not a regular file (a device, FIFO or socket); outputs are written only as "
            "regular files",
            hint="give the path of a file (it is written to a temporary name and renamed into place)",
        )
    _check_parent(path, option)
    return path


def _check_parent(path: Path, option: str) -> None:
    for parent in (path.parent, *path.parent.parents):
        if parent.exists():
            break
    else:  # pragma: no cover - the filesystem root always exists
        return
    if not parent.is_dir():
        raise EdgeTrainError(
            f"{option} {path}: {parent} is a file, not a directory",
            hint="choose a path in an existing folder",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EdgeTrainError(
            f"{option} {path}: permission denied: cannot write in {parent}",
            hint="choose a folder you can write to, or fix its permissions",
        )
