"""The code snapshot a node runs in: the component's `code:` folder as azure-ai-ml uploads it.

The file list comes from the SDK's own upload path (`component._build_code()` then
`get_upload_files_from_folder(code.path, ignore_file=code._ignore_file)`, as `_component_operations` does it),
so `.amlignore` (or `.gitignore` when there is none) decides exactly as it does on submit. For the project's
job that folder is the tracked-files snapshot `submit` uploads (`ml.azure.snapshot`, applied by
tests/integration/edge/edge_project.py). The files are copied into an empty folder: no `.git`, nothing the
ignore file left out, nothing created by a local run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def snapshot_files(
    component: Any, cache: dict[str, list[tuple[Path, str]]] | None = None
) -> list[tuple[Path, str]]:
    """(source file, path in the snapshot) for every file the SDK would upload for `component`.

    `cache` (keyed by the code folder) saves walking the same folder for every node of one job: the SDK's walk
    follows symlinks and visits ignored folders too, seconds in a working copy with a virtualenv.
    """
    from azure.ai.ml._utils._asset_utils import get_upload_files_from_folder

    with component._build_code() as code:
        if code is None or not getattr(code, "path", None):
            return []
        key = str(Path(code.path).resolve())
        if cache is not None and key in cache:
            return cache[key]
        listed = get_upload_files_from_folder(code.path, ignore_file=code._ignore_file)
    files = sorted((Path(source), relative) for source, relative in listed)
    if cache is not None:
        cache[key] = files
    return files


def make_snapshot(
    component: Any, destination: Path, cache: dict[str, list[tuple[Path, str]]] | None = None
) -> list[str]:
    """Copy the snapshot into `destination` (created, must not exist); return the relative paths copied."""
    destination.mkdir(parents=True)
    copied = []
    for source, relative in snapshot_files(component, cache):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(relative)
    return copied
