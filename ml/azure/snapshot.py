"""The code snapshot `submit` uploads: the files git tracks, as the working tree has them, and nothing else.

The components' `code:` is the repository root (the edge node runs `dvc repro`: it needs dvc.yaml,
params.yaml, ml/ and .dvc/config). azure-ai-ml uploads a local `code:` folder by walking all of it,
following symlinks, and testing every file against `.amlignore` (`_utils/_asset_utils.py`:
`get_upload_files_from_folder`, `get_content_hash`; docs/opinions.md). In a working copy that means every
file of a virtualenv is walked and hashed on every submit, and whatever else lies around (data copies,
`.dvc/config.local`, reports) is left out only if `.amlignore` happens to list it. So the job's code points
at a temporary folder holding exactly `git ls-files`: what may leave the premises is what git tracks, and
`.amlignore` only trims tracked files the job does not need.

- The working tree's content of each tracked file is what goes, like submit's lineage tag (`<commit>-dirty`
  for a changed tree): submit sends uncommitted changes and says so in the tag. Untracked files never go;
  submit names them, since a new module the job needs must be `git add`ed first.
- The folder is named like the checkout and the SDK's content hash reads only relative paths, sizes and bytes,
  so two submits of one commit upload the same code asset (Azure ML reuses it by that hash).
- A tracked symlink stays a symlink and must point inside the snapshot: the SDK would follow it and upload
  whatever it points at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ml import console
from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.ai.ml.entities import PipelineJob

GITLINK = "160000"  # a submodule: a commit id in the index, not a file
SHOWN = 5  # untracked names listed in the warning


def _git(root: Path, *args: str) -> list[str]:
    """NUL-separated output of a git command in `root`; a checkout that is not a git repository is refused."""
    result = subprocess.run(["git", *args, "-z"], cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        why = next((line for line in result.stderr.splitlines() if line.strip()), f"exit {result.returncode}")
        raise EdgeTrainError(
            f"{root}: git {args[0]} failed: {why}",
            hint="submit uploads the files git tracks: run it in a git clone of your fork",
        )
    return [entry for entry in result.stdout.split("\0") if entry]


def tracked_files(root: Path) -> list[str]:
    """Paths git tracks that the working tree holds (a file deleted but not yet committed is not sent)."""
    entries = (line.split("\t", 1) for line in _git(root, "ls-files", "--cached", "--stage"))
    paths = sorted({path for stage, path in entries if stage.split()[0] != GITLINK})
    return [path for path in paths if (root / path).is_symlink() or (root / path).is_file()]


def untracked_files(root: Path) -> list[str]:
    """Files git would show as new (not ignored): they are not in the snapshot."""
    return _git(root, "ls-files", "--others", "--exclude-standard")


def materialise(root: Path, destination: Path) -> Path:
    """Copy the tracked files into `destination/<checkout name>` (created, must not exist); return it."""
    snapshot = destination / root.resolve().name
    snapshot.mkdir(parents=True)
    links = []
    for path in tracked_files(root):
        source, target = root / path, snapshot / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
            links.append(path)
        else:
            shutil.copy2(source, target)
    for path in links:  # checked once every file is in place: a link may point at one copied after it
        pointed = (snapshot / path).resolve()
        if not pointed.is_relative_to(snapshot.resolve()) or not pointed.exists():
            raise EdgeTrainError(
                f"{path}: a tracked symlink to {os.readlink(snapshot / path)}, which is not a tracked file",
                hint="the job's code snapshot holds only the files git tracks: commit the file itself, or a "
                "relative link to a tracked file",
            )
    return snapshot


def use_snapshot(job: PipelineJob, root: Path, snapshot: Path) -> Callable[[], None]:
    """Point every node's local `code:` inside `root` at the same folder in `snapshot`; return the undo.

    `azureml:` and remote code are left as they are. A local `code:` outside the repository has no place in
    the snapshot; the rule itself is `edge-train pipeline validate`'s (`ml/pipeline/wiring.check_code_paths`),
    which the refusal points to.
    """
    root = root.resolve()
    local: dict[int, tuple[object, str, Path]] = {}
    for name, node in job.jobs.items():
        component = getattr(node, "component", None)
        code = getattr(component, "code", None)
        if not isinstance(code, str) or id(component) in local:
            continue
        folder = Path(component.base_path or root, code).resolve()
        if not folder.is_dir():
            continue  # not a local folder: an `azureml:` asset or a remote path
        if not folder.is_relative_to(root):
            raise EdgeTrainError(
                f"node {name}: code {code} is {folder}, outside the repository {root}",
                hint="run `edge-train pipeline validate`: it names the file and key to fix",
            )
        local[id(component)] = (component, code, folder)
    for component, _, folder in local.values():  # all checked first: a refusal changes no node
        component.code = str(snapshot / folder.relative_to(root))  # type: ignore[attr-defined]

    def restore() -> None:
        for component, code, _ in local.values():
            component.code = code  # type: ignore[attr-defined]

    return restore


@contextmanager
def code_snapshot(job: PipelineJob, root: Path) -> Iterator[Path]:
    """While inside, the job's code is a temporary snapshot of the tracked files; gone on any exit."""
    if untracked := untracked_files(root):
        shown = ", ".join(untracked[:SHOWN]) + (
            f" and {len(untracked) - SHOWN} more" if len(untracked) > SHOWN else ""
        )
        console.warn(f"not in the job's code snapshot (untracked): {shown}; `git add` what the job needs")
    with tempfile.TemporaryDirectory(prefix="edge-train-snapshot-") as scratch:
        snapshot = materialise(root, Path(scratch))
        restore = use_snapshot(job, root, snapshot)
        try:
            yield snapshot
        finally:
            restore()
