"""A fresh clone of this checkout, as a user gets it after `git clone`: the committed files only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def fresh_clone(dest: Path) -> Path:
    """Clone the committed HEAD without tags (a `make run` here tags versions the tests must not inherit);
    files changed but not committed are copied over so tests see them too."""
    clone = ["git", "clone", "-q", "--no-hardlinks", "--no-tags", str(REPO_ROOT), str(dest)]
    subprocess.run(clone, check=True)
    changed = subprocess.run(
        ["git", "diff", "--name-only", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in changed:
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).write_bytes(source.read_bytes())
    for key, value in (("user.name", "edge-train tests"), ("user.email", "tests@edge-train.invalid")):
        subprocess.run(["git", "config", key, value], cwd=dest, check=True)
    return dest


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
