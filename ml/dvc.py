"""Use DVC in-process, with the environment its stages need.

In-process rather than `dvc ...` subprocesses: each DVC start costs ~1.2 s of imports, and an unchanged
`edge-train run` must finish in seconds. Stage commands still run as DVC runs them, in a shell whose PATH
starts with this environment's scripts.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from dvc.repo import Repo

# `cache.type` for a consumer that only reads what it pulls, into a workspace thrown away afterwards (the edge
# job): links from the cache instead of DVC's default (reflink, else copy), which on ext4 writes every file a
# second time, the cost that kept a pull of thousands of small files over 1.5x the raw SDK. Not for a
# developer's workspace: a hardlinked file is read-only until `dvc unprotect` (docs/data.md §5).
READ_ONLY_CACHE_TYPE = "reflink,hardlink,copy"


def prepare_environment() -> None:
    """Put this venv's scripts first on PATH, so `python -m ml.steps.*` in dvc.yaml is our Python."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if not path.startswith(bin_dir + os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, path])
    from ml.telemetry import disable_telemetry

    disable_telemetry()


@contextlib.contextmanager
def open_repo(root: Path) -> Iterator[Repo]:
    """The DVC repository at `root`; DVC's own errors become `EdgeTrainError` with DVC's message."""
    prepare_environment()
    from dvc.config import ConfigError
    from dvc.exceptions import DvcException
    from dvc.lock import LockError
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            yield repo
    except LockError:
        raise EdgeTrainError(
            "another edge-train or dvc command is working in this checkout (it holds .dvc/tmp/lock)",
            hint="wait for it to finish and run this again; if none is running, delete .dvc/tmp/lock",
        ) from None
    except ConfigError as exc:
        raise EdgeTrainError(
            f".dvc/config (or .dvc/config.local): {dvc_cause(exc)}",
            hint="fix the line DVC names (`git diff .dvc/config` shows what changed)",
        ) from None
    except DvcException as exc:
        raise disk_error(exc, root) or EdgeTrainError(
            f"DVC: {dvc_cause(exc)}", hint="fix what DVC reports, then run the command again"
        ) from None


def disk_error(exc: BaseException, root: Path) -> EdgeTrainError | None:
    """A full disk or a folder we may not write, found anywhere in DVC's chain of causes, as one line that
    names the folder and the fix; None for any other failure. DVC's own words ('failed to reproduce
    evaluate') name neither. dvc.lock and the outputs are as before: DVC records a stage only on success
    and `ml.pipeline_run` checks the previous outputs out again."""
    import errno

    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen and not isinstance(cause, OSError):
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if not isinstance(cause, OSError) or cause.errno is None:
        return None
    written = cause.filename2 or cause.filename  # a copy's destination is what needed the space
    folder = _shown(str(Path(written).parent), root) if written else ""
    kept = "dvc.lock and the previous outputs were kept"
    if cause.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        disk = folder or "this checkout or its DVC cache (.dvc/cache)"
        return EdgeTrainError(
            f"no space left on the disk holding {disk} ({cause.strerror}); {kept}",
            hint="free space there (`dvc gc --workspace` drops cache entries this checkout no longer uses), "
            "then run again",
        )
    where = _shown(cause.filename, root)
    folder = folder or "the checkout"
    if cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return EdgeTrainError(
            f"{folder}/ is not writable ({cause.strerror}: {where}); {kept}",
            hint=f"make it writable (chmod -R u+w {folder}) or run as the user who owns it, then run again",
        )
    return None


def _shown(path: str | None, root: Path) -> str:
    if not path:
        return "a file"
    with contextlib.suppress(ValueError):
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    return path


def dvc_cause(exc: BaseException) -> str:
    """DVC's message followed by the causes it wraps ('failed to reproduce X: [Errno 30] Read-only file
    system'): DVC's own message alone often drops the reason, and the user needs the reason."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 4:
        seen.add(id(current))
        text = " ".join(str(current).split())
        if text and all(text not in part for part in parts):
            parts.append(text)
        current = current.__cause__ or current.__context__
    return ": ".join(parts)[:500]
