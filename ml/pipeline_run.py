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

    DVC deletes a stage's outputs before running its command, so a failed step would leave the previous
    run's outputs gone. They are still in the cache and dvc.lock (which a failed run does not update) still
    records them: a failure checks them out again, then reports DVC's error with its cause.
    """
    from dvc.exceptions import DvcException

    os.environ.setdefault(PIPELINE_RUN_ENV, f"local-{uuid.uuid4().hex[:12]}")
    try:
        ran = repo.reproduce()
    except DvcException:
        _restore_previous_outputs(repo)
        raise
    stages = [stage for stage in ran if stage.cmd]
    if stages:
        console.done(f"pipeline: ran {len(stages)} stage(s): {', '.join(s.addressing for s in stages)}")
    else:
        console.skipped("pipeline", "every stage is up to date (no code, data or params changed)")
    return [s.addressing for s in stages]


def remove_leftovers(root: Path) -> None:
    """Delete the temporary files a killed step or release left (SIGKILL runs no cleanup), and say so:
    they are never part of an output, and a release must not hash, register or package them."""
    from ml.atomic import sweep_leftovers
    from ml.paths import OUTPUT_DIRS

    if removed := sweep_leftovers(root, OUTPUT_DIRS):
        shown = ", ".join(removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
        console.done(f"removed what an interrupted run left behind: {shown}")


def _restore_previous_outputs(repo: Repo) -> None:
    """Check out every stage output that dvc.lock records, as it was after the last successful run."""
    import contextlib

    from dvc.exceptions import DvcException

    stages = [stage.addressing for stage in repo.index.stages if stage.cmd]
    with contextlib.suppress(DvcException):
        repo.checkout(targets=stages, force=True, allow_missing=True)
