"""Reproduce the step graph locally with DVC, tagging every step's MLflow run with one run id."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ml import console
from ml.tracking import PIPELINE_RUN_ENV

if TYPE_CHECKING:
    from dvc.repo import Repo


def reproduce(repo: Repo) -> list[str]:
    """`dvc repro`: DVC re-runs only the stages whose code, data or params changed; return their names.

    All or nothing: DVC records each stage in dvc.lock as it finishes and deletes a stage's outputs before
    running it, so a later failure (a step's error, a full disk while caching) left dvc.lock naming a model
    that was never complete, and the previous outputs gone. A failed run puts back dvc.lock as it was, the
    outputs DVC does not cache (metrics, plots: copied aside first) and, from the cache, those it does.
    """
    import tempfile

    os.environ.setdefault(PIPELINE_RUN_ENV, f"local-{uuid.uuid4().hex[:12]}")
    root = Path(repo.root_dir)
    lock = root / "dvc.lock"
    recorded = lock.read_bytes() if lock.is_file() else None
    with tempfile.TemporaryDirectory(prefix="edge-train-outputs.") as aside:
        uncached = _set_aside_uncached_outputs(repo, root, Path(aside))
        try:
            ran = repo.reproduce()
        except BaseException:
            _put_back(repo, root, recorded, uncached, Path(aside))
            raise
    stages = [stage for stage in ran if stage.cmd]
    if stages:
        console.done(f"pipeline: ran {len(stages)} stage(s): {', '.join(s.addressing for s in stages)}")
    else:
        console.skipped("pipeline", "every stage is up to date (no code, data or params changed)")
    return [s.addressing for s in stages]


def _set_aside_uncached_outputs(repo: Repo, root: Path, aside: Path) -> list[str]:
    """Copy the outputs DVC keeps only in the workspace (`cache: false`) aside; return their paths."""
    import shutil

    paths = sorted(
        {Path(out.fs_path).relative_to(root).as_posix() for stage in repo.index.stages for out in stage.outs}
        - {
            Path(out.fs_path).relative_to(root).as_posix()
            for stage in repo.index.stages
            for out in stage.outs
            if out.use_cache
        }
    )
    for rel in paths:
        source, copy = root / rel, aside / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, symlinks=True)
        elif source.is_file():
            shutil.copy2(source, copy)
    return paths


def _put_back(repo: Repo, root: Path, recorded: bytes | None, uncached: list[str], aside: Path) -> None:
    """Undo a failed run: dvc.lock's bytes, the uncached outputs, then the cached ones dvc.lock records."""
    import contextlib
    import shutil

    from dvc.exceptions import DvcException

    from ml.atomic import atomic_write_bytes

    lock = root / "dvc.lock"
    with contextlib.suppress(OSError):
        if recorded is None:
            lock.unlink(missing_ok=True)
        elif not lock.is_file() or lock.read_bytes() != recorded:
            atomic_write_bytes(lock, recorded)
    for rel in uncached:
        target, copy = root / rel, aside / rel
        with contextlib.suppress(OSError):
            if copy.is_file() and (not target.is_file() or target.read_bytes() != copy.read_bytes()):
                atomic_write_bytes(target, copy.read_bytes())
            elif copy.is_dir():
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(copy, target, symlinks=True)
            elif not copy.exists() and target.is_file():
                target.unlink()  # written by the failed run alone
    repo._reset()  # DVC caches dvc.lock as read before the run: check out what it records now
    stages = [stage.addressing for stage in repo.index.stages if stage.cmd]
    with contextlib.suppress(DvcException, OSError):
        repo.checkout(targets=stages, force=True, allow_missing=True)


def remove_leftovers(root: Path) -> None:
    """Delete the temporary files a killed step or release left (SIGKILL runs no cleanup), and say so:
    they are never part of an output, and a release must not hash, register or package them."""
    from ml.atomic import sweep_leftovers
    from ml.paths import OUTPUT_DIRS

    if removed := sweep_leftovers(root, OUTPUT_DIRS):
        shown = ", ".join(removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
        console.done(f"removed what an interrupted run left behind: {shown}")
