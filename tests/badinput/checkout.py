"""A small checkout for corpus cases: the template's tracked configuration, committed in a fresh git repo."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT

TEMPLATE_FILES = (
    "params.yaml",
    "dvc.yaml",
    "dvc.lock",
    "data.dvc",
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvcignore",
    ".gitignore",
)
TEMPLATE_DIRS = ("pipelines", "components", "infra")
# Written by DVC or git on every invocation, or by Python on a module's first import (unless
# PYTHONDONTWRITEBYTECODE is set, as it is not on a user's machine), whatever the outcome: not the
# user's state.
ALWAYS_CHANGING = (".git/*", ".dvc/tmp/*", ".dvc/cache/*", "*__pycache__*")


def make_template(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in TEMPLATE_FILES:
        if (REPO_ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, dest / name)
    for name in TEMPLATE_DIRS:
        shutil.copytree(REPO_ROOT / name, dest / name)
    git = ["git", "-c", "user.name=corpus", "-c", "user.email=corpus@edge-train.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "template"], cwd=dest, check=True)
    return dest


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root` (not following symlinks) with its kind and content hash."""
    state: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if any(fnmatch.fnmatch(rel, pattern) or rel == pattern[:-2] for pattern in ALWAYS_CHANGING):
                continue
            if path.is_symlink():
                state[rel] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                state[rel] = "dir"
            elif path.is_file():
                try:
                    state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
                except PermissionError:
                    state[rel] = "unreadable"
            else:
                state[rel] = "special"
    return state


def differences(before: dict[str, str], after: dict[str, str], allowed: tuple[str, ...]) -> list[str]:
    """Paths added, removed or changed, minus those the case allows."""
    changed = sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
        and not any(fnmatch.fnmatch(path, pattern) or path == pattern.rstrip("/*") for pattern in allowed)
    )
    return changed
