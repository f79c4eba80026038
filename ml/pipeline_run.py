"""Reproduce the step graph locally with DVC, tagging every step's MLflow run with one run id."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

from ml import console
from ml.tracking import PIPELINE_RUN_ENV

if TYPE_CHECKING:
    from dvc.repo import Repo


def reproduce(repo: Repo) -> list[str]:
    """`dvc repro`: DVC re-runs only the stages whose code, data or params changed; return their names."""
    os.environ.setdefault(PIPELINE_RUN_ENV, f"local-{uuid.uuid4().hex[:12]}")
    stages = [stage for stage in repo.reproduce() if stage.cmd]
    if stages:
        console.done(f"pipeline: ran {len(stages)} stage(s): {', '.join(s.addressing for s in stages)}")
    else:
        console.skipped("pipeline", "every stage is up to date (no code, data or params changed)")
    return [s.addressing for s in stages]
