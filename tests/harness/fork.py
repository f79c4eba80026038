"""A fork as a user makes one: a clone of this checkout, their own table, `init --data`, the commit init
prints, then the README's `make run` and `make test` in the fork's own venv.

Shared by tests/integration/test_fork_own_data.py (does it go green?) and benchmarks/bench_fork.py (how
long does it take?). The tables have a numeric column with missing values, a numeric one without, a
categorical one with missing values, a boolean and an identifier, for each of the three tasks.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import REPO_ROOT

LABELS = {"binary": "churned", "multiclass": "grade", "regression": "price"}

# Set by the test run or the checkout; a fork's make must not inherit them (they point at this checkout).
_INHERITED = ("VIRTUAL_ENV", "EDGE_TRAIN_ROOT", "MLFLOW_TRACKING_URI", "PYTEST_ADDOPTS", "PYTHONPATH")


def own_table(task: str, rows: int = 400) -> pd.DataFrame:
    """A table the label of which has a learnable signal in a numeric and a categorical feature."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "member_id": np.arange(rows) + 5000,
            "age": rng.integers(18, 90, rows).astype(float),
            "weight kg": rng.normal(75, 12, rows).round(1),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "smoker": rng.choice(["true", "false"], rows),
        }
    )
    signal = (frame["weight kg"] - 75) / 12 + (frame["region"] == "east") * 1.5 + rng.normal(0, 0.4, rows)
    frame.loc[rng.random(rows) < 0.06, "age"] = np.nan
    frame.loc[rng.random(rows) < 0.06, "region"] = None
    if task == "binary":
        frame["churned"] = np.where(signal > 0.3, "yes", "no")
    elif task == "multiclass":
        frame["grade"] = pd.cut(signal, [-99, -0.5, 0.6, 99], labels=["A", "B", "C"]).astype(str)
    else:
        frame["price"] = (100 + 20 * signal).round(2)
    return frame


def fork_env(**extra: str) -> dict[str, str]:
    """This environment without what points at this checkout or its venv (CI=true stays: a missing tool
    fails the fork's suite in CI as it fails ours)."""
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED and not k.startswith("PYTEST_")}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(REPO_ROOT))]
    return {**env, "PATH": os.pathsep.join(path), "MLFLOW_DISABLE_TELEMETRY": "true", **extra}


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A command in the fork, as its user types it; output captured, never raising."""
    return subprocess.run(
        list(args), cwd=root, env=env or fork_env(), capture_output=True, text=True, check=False
    )


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def clone(dest: Path) -> Path:
    """`git clone` of this checkout (tests.integration.clone), with this checkout's test servers and tools
    (.tools/, installed by `make test-tools`, untracked) linked in rather than installed again."""
    from tests.integration.clone import fresh_clone

    root = fresh_clone(dest)
    git(root, "add", "-A")  # fresh_clone copies uncommitted edits: the fork starts from them, committed
    git(root, "commit", "-q", "-m", "the template as forked", "--allow-empty")
    tools = REPO_ROOT / ".tools"
    if tools.exists():
        (root / ".tools").symlink_to(tools.resolve(), target_is_directory=True)
    return root


def adopt(root: Path, table: Path, task: str) -> subprocess.CompletedProcess[str]:
    """`edge-train init --data … --label …` with the interpreter running this (the fork has no venv before
    its first `make`), using the fork's own `ml` package."""
    from tests.integration.clone import edge_train

    return edge_train(
        root, "init", "--data", str(table), "--label", LABELS[task], "--model-name", f"{task}-model"
    )


def commit_as_told(root: Path, init_output: str) -> list[str]:
    """Stage exactly the files init's "Commit: git add …" line names and commit them; return the names."""
    found = re.search(r"git add (.+)", init_output)
    assert found, f"init printed no 'git add' line:\n{init_output}"
    files = found.group(1).split()
    git(root, "add", *files)
    git(root, "commit", "-q", "-m", "Train on my data")
    return files
