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


def prepare_environment() -> None:
    """Put this venv's scripts first on PATH, so `python -m ml.steps.*` in dvc.yaml is our Python."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if not path.startswith(bin_dir + os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, path])
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@contextlib.contextmanager
def open_repo(root: Path) -> Iterator[Repo]:
    """The DVC repository at `root`; DVC's own errors become `EdgeTrainError` with DVC's message."""
    prepare_environment()
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            yield repo
    except DvcException as exc:
        raise EdgeTrainError(
            f"DVC: {describe(exc)}", hint="fix what DVC reports, then run the command again"
        ) from None


def describe(exc: BaseException) -> str:
    """DVC's message with the causes it wraps: "failed to reproduce 'evaluate'" alone says nothing of why
    (the cause names the command that failed and its exit code, or the missing file)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = " ".join(str(current).split())
        if text and text not in parts:
            parts.append(text)
        current = current.__cause__ or current.__context__
    return ": ".join(parts)
