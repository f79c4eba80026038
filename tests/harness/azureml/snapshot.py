"""The code snapshot a node runs in: the component's `code:` folder as azure-ai-ml uploads it.

The file list comes from the SDK's own upload path (`component._build_code()` then
`get_upload_files_from_folder(code.path, ignore_file=code._ignore_file)`, as `_component_operations` does it),
so `.amlignore` (or `.gitignore` when there is none) decides exactly as it does on submit. The files are
copied into an empty folder: no `.git`, nothing the ignore file left out, nothing created by a local run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def snapshot_files(component: Any) -> list[tuple[Path, str]]:
    """(source file, path in the snapshot) for every file the SDK would upload for `component`."""
    from azure.ai.ml._utils._asset_utils import get_upload_files_from_folder

    with component._build_code() as code:
        if code is None or not getattr(code, "path", None):
            return []
        listed = get_upload_files_from_folder(code.path, ignore_file=code._ignore_file)
    return sorted((Path(source), relative) for source, relative in listed)


def make_snapshot(component: Any, destination: Path) -> list[str]:
    """Copy the snapshot into `destination` (created, must not exist); return the relative paths copied."""
    destination.mkdir(parents=True)
    copied = []
    for source, relative in snapshot_files(component):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(relative)
    return copied
