"""Write files and folders so that an interrupted step never leaves a half-written artifact.

Files are written next to their destination under a temporary name and renamed into place: a rename within
one filesystem is atomic, so readers see the old file or the new one, never a mix.

Folders are never renamed or removed themselves, only their contents: in an Azure ML job an output folder is a
mount point, and renaming it fails with `OSError: [Errno 16] Device or resource busy`. A folder's new contents
are written into a hidden temporary folder *inside* it and moved in entry by entry once complete, so every
file appears whole; a step that fails or is killed leaves the previous contents (plus, after a kill, a hidden
`.edge-train-tmp-*` folder that the next write removes).

Every temporary name starts with TEMP_PREFIX, so one rule finds what a SIGKILL left behind: `.dvcignore` hides
such entries from DVC (they are never hashed or cached as part of an output) and `sweep_leftovers` removes
them before a run or a release reads the outputs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".edge-train-tmp-"


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# Significant digits kept in JSON results: far beyond any metric's meaning, and coarse enough that the
# last-bit noise of other CPUs' floating-point kernels gives the same bytes (so DVC sees the same result).
JSON_DIGITS = 10


def atomic_write_json(path: Path, value: object, indent: int = 2) -> None:
    """Write `value` as JSON with sorted keys and floats rounded to JSON_DIGITS significant digits."""
    import json

    atomic_write_text(path, json.dumps(_rounded(value), indent=indent, sort_keys=True) + "\n")


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.{JSON_DIGITS}g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary file next to `path` to write (streaming, if it is large); moved onto `path` when the
    block ends without error, removed when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_output_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary folder inside `path`; on success its contents replace those of `path`.

    On failure the temporary folder is removed and `path` keeps what it held. An existing `path` is never
    renamed or removed (it may be a mount point); one created here is removed again on failure, so a failed
    first write leaves nothing behind.
    """
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=path))
    try:
        yield tmp
        replace_contents(path, tmp)
    except BaseException:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_contents(path: Path, new: Path) -> None:
    """Move every entry of `new` (a folder inside `path`) into `path`, then drop the entries it replaced.

    Each entry lands by one rename; an entry in the way is first moved aside into a hidden folder inside
    `path`, so nothing outside `path` is touched and `path` is never renamed.
    """
    trash = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=path))
    try:
        incoming = {entry.name for entry in new.iterdir()}
        for name in sorted(incoming):
            target = path / name
            if target.is_dir() and not target.is_symlink():
                os.replace(target, trash / name)
            os.replace(new / name, target)
        for stale in path.iterdir():
            if stale.name not in incoming and stale not in (new, trash):
                os.replace(stale, trash / stale.name)
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def _remove_leftovers(path: Path) -> None:
    """Temporary folders that a killed step left inside `path`."""
    for entry in path.glob(f"{TEMP_PREFIX}*"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def sweep_leftovers(root: Path, folders: tuple[str, ...]) -> list[str]:
    """Remove the temporary entries a killed step left anywhere under `folders` (relative to `root`); return
    their paths. Only TEMP_PREFIX names are touched: nothing a user or a complete write made."""
    removed: list[str] = []
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            continue
        for entry in sorted(base.rglob(f"{TEMP_PREFIX}*")):
            if not entry.exists() and not entry.is_symlink():
                continue  # inside a leftover folder removed a moment ago
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.relative_to(root).as_posix())
    return removed
