"""Read files as they were at a git revision: the base side of every comparison in the report."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def resolve(root: Path, ref: str) -> str | None:
    """The full commit id `ref` names, or None when the repository has no such commit."""
    result = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return result.stdout.strip() if result.returncode == 0 else None


def show(root: Path, rev: str, path: str) -> str | None:
    """The text of `path` at `rev`, or None when the file did not exist there."""
    result = _git(root, "show", f"{rev}:{path}")
    return result.stdout if result.returncode == 0 else None


def history(root: Path, rev: str, path: str, limit: int) -> list[str]:
    """The last `limit` commits up to `rev` that changed `path`, oldest first (the x-axis of a chart)."""
    result = _git(root, "log", f"-n{limit}", "--format=%H", rev, "--", path)
    if result.returncode != 0:
        return []
    return list(reversed(result.stdout.split()))


def head_label(root: Path) -> str:
    """Short id of HEAD: the report describes that commit plus the run's outputs in the working tree."""
    head = _git(root, "rev-parse", "--short", "HEAD")
    return head.stdout.strip() if head.returncode == 0 else "working tree"
