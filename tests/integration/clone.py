"""A fresh clone of this checkout, as a user gets it after `git clone`: the committed files only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def fresh_clone(dest: Path) -> Path:
    """Clone the committed HEAD without tags (a `make run` here tags versions the tests must not inherit),
    then make its files what `git status` shows here: changed and new files copied over, deleted ones
    removed. So the suite sees this checkout as its user left it, e.g. a fork's `make run` outputs before
    they are committed (new plots written, the example's plots removed)."""
    clone = ["git", "clone", "-q", "--no-hardlinks", "--no-tags", str(REPO_ROOT), str(dest)]
    subprocess.run(clone, check=True)
    for name in _working_tree_changes():
        source, target = REPO_ROOT / name, dest / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
        elif target.is_file() and not source.exists():
            target.unlink()
    for key, value in (("user.name", "edge-train tests"), ("user.email", "tests@edge-train.invalid")):
        subprocess.run(["git", "config", key, value], cwd=dest, check=True)
    share_data(dest)
    return dest


def _working_tree_changes() -> list[str]:
    """Paths changed, deleted or new (not ignored) in this checkout against HEAD."""
    listed = []
    for args in (["diff", "--name-only", "-z", "HEAD"], ["ls-files", "--others", "--exclude-standard", "-z"]):
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
        listed += [name for name in out.split("\0") if name]
    return listed


def share_data(dest: Path) -> None:
    """A fork's own data cannot be re-created the way the example is on a first run: the clone gets this
    checkout's local DVC remote, as a user's second clone pulls from their own remote. The example's
    clones keep an empty remote (their first run re-creates the data, which the tests check)."""
    from ml.config import load_settings
    from ml.data.example import is_example_schema
    from ml.dvc import open_repo
    from ml.steps.schema import SCHEMA_PATH, load_schema

    if is_example_schema(load_schema(REPO_ROOT / SCHEMA_PATH)):
        return
    with open_repo(REPO_ROOT) as repo:
        url = repo.config["remote"].get(load_settings(REPO_ROOT).data.local_remote, {}).get("url", "")
    storage = (REPO_ROOT / ".dvc" / url).resolve()  # DVC gives a relative folder resolved already
    if not url or "://" in url or not storage.is_dir() or not storage.is_relative_to(REPO_ROOT.resolve()):
        return  # not a folder in this checkout: the clone's .dvc/config reaches the same remote
    target = dest / storage.relative_to(REPO_ROOT.resolve())
    shutil.copytree(storage, target, copy_function=_link_or_copy, dirs_exist_ok=True)


def _link_or_copy(source: str, target: str) -> None:
    """DVC's objects are never modified in place: a hard link is a copy, where the file system allows it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def edge_train(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m ml ...` in `root` with this interpreter, so the clone's own `ml` package is used."""
    run_env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(env or {})}
    run_env.pop("EDGE_TRAIN_ROOT", None)
    run_env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "ml", *args],
        cwd=root,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
