"""Keep dvc.yaml in step with its pipeline: compile, write atomically, tell when it is stale."""

from __future__ import annotations

from pathlib import Path

from ml.atomic import atomic_write_text
from ml.params import read_params_file
from ml.paths import DVC_FILE, PARAMS_FILE, PIPELINE_FILE
from ml.pipeline.compile import compile_file


def compiled_text(root: Path, pipeline_file: Path | None = None) -> str:
    """What dvc.yaml must contain for `pipeline_file` (default: pipelines/train.yml) and params.yaml."""
    params = read_params_file(root / PARAMS_FILE)
    return compile_file(root, pipeline_file or root / PIPELINE_FILE, params)


def is_stale(root: Path, pipeline_file: Path | None = None) -> bool:
    """True when dvc.yaml is missing or differs from what compiling the pipeline gives now."""
    current = root / DVC_FILE
    return not current.is_file() or current.read_text(encoding="utf-8") != compiled_text(root, pipeline_file)


def write_compiled(root: Path, pipeline_file: Path | None = None) -> bool:
    """Write dvc.yaml if its content changes; return whether it did (so callers can say what they did)."""
    text = compiled_text(root, pipeline_file)
    current = root / DVC_FILE
    if current.is_file() and current.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(current, text)
    return True


def ensure_compiled(root: Path) -> None:
    """Before a local run: recompile a stale dvc.yaml, so `dvc repro` runs what the Azure ML YAML says.

    Recompiling rather than failing is safe because dvc.yaml is generated and never edited by hand; the
    message says so, and the pre-commit hook keeps the committed copy in step.
    """
    from ml import console

    if write_compiled(root):
        console.done(f"{DVC_FILE} was out of date with {PIPELINE_FILE}: recompiled it")
    else:
        console.skipped(f"compile {DVC_FILE}", f"up to date with {PIPELINE_FILE}")
