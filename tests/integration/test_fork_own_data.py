"""A fork brings its own table and goes green with no other edit: clone, `edge-train init --data … --label …`,
commit the files init names, then the README's `make run` and `make test`, in the fork's own venv — for a
binary, a multiclass and a regression table, each with numeric, boolean and categorical features and missing
values. The portable model agrees with the native one, and the report and the gate work between two runs.

Time: each fork installs its venv from the warm uv cache (~1 min) and runs the pipeline twice (~1-2 min).
The whole default suite takes 5-10 minutes on a 2-core runner, so it runs in full in ONE fork — the
regression one, the task furthest from the example (no classes, no probabilities) — and the other two run
the parts of the suite that read the data, the schema or the task (FORK_SUBSET). CI's budget is 90 minutes
for everything; `EDGE_TRAIN_FORK_FULL_SUITE=all` runs the whole suite in all three forks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.fork import LABELS, adopt, clone, commit_as_told, fork_env, git, own_table, run

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(3600)]

HEADLINE = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}
FULL_SUITE = {"regression"} if os.environ.get("EDGE_TRAIN_FORK_FULL_SUITE") != "all" else set(LABELS)
# What a schema, a task or the data can break: the steps, the model and its portable export, the scorer,
# init and the synthetic data, compile and the params declared once, the report and the gate, the local run.
FORK_SUBSET = [
    "tests/unit/steps",
    "tests/unit/data",
    "tests/unit/release/test_portable.py",
    "tests/unit/serving",
    "tests/unit/pipeline",
    "tests/unit/test_params_declared_once.py",
    "tests/unit/test_dvc_lock_is_current.py",
    "tests/unit/report",
    "tests/integration/test_local_run.py",
]


@dataclass(frozen=True)
class Fork:
    task: str
    root: Path
    committed: list[str]
    left_over: list[str]
    first_run: str


@pytest.fixture(scope="module", params=sorted(LABELS))
def fork(request, tmp_path_factory) -> Fork:
    task = request.param
    base = tmp_path_factory.mktemp(f"fork-{task}")
    root = clone(base / "repo")
    table = base / "mine.csv"
    own_table(task).to_csv(table, index=False)
    init = adopt(root, table, task)
    assert init.returncode == 0, init.stdout + init.stderr
    committed = commit_as_told(root, init.stdout)
    left_over = [line for line in git(root, "status", "--porcelain").splitlines() if line != "?? .tools"]
    made = run(root, "make", "run")
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    return Fork(task, root, committed, left_over, made.stdout)


def test_init_names_every_file_to_commit(fork) -> None:
    """After committing what init printed, nothing else is changed: the fork needs no other edit."""
    assert {"ml/steps/schema.yaml", "data.dvc", "dvc.yaml"} <= set(fork.committed)
    assert fork.left_over == []


def test_make_run_is_green_on_the_task_init_decided(fork) -> None:
    assert f"task: {fork.task}" in (fork.root / "ml/steps/schema.yaml").read_text()
    metrics = json.loads((fork.root / "reports/metrics.json").read_text())
    assert metrics[HEADLINE[fork.task]] > 0.5


def test_the_first_run_versions_the_model_under_the_forks_name(fork) -> None:
    """The first run found the tree clean (init wrote dvc.yaml too), so it tagged the version."""
    assert f"registered {fork.task}-model version 1" in fork.first_run
    assert f"{fork.task}-model@v1.0.0" in git(fork.root, "tag", "--list")
    assert f'name = "edge-train/{fork.task}-model"' in (fork.root / "edge-train.toml").read_text()


def test_the_portable_model_agrees_with_the_native_one(fork) -> None:
    parity = json.loads((fork.root / "artifacts/portable/parity.json").read_text())
    assert parity["status"] == "passed" and parity["max_abs_diff"] < 1e-5
    assert (fork.root / "artifacts/portable/model.onnx").is_file()


def test_make_test_passes_in_the_fork_as_make_run_left_it(fork) -> None:
    """The README's order: `make run`, then `make test`, before the run's outputs are committed (dvc.lock,
    the metrics, the task's plots written and the example's removed): the suite must not need a commit."""
    assert git(fork.root, "status", "--porcelain", "--", "dvc.lock", "reports")  # outputs not committed
    subset = "" if fork.task in FULL_SUITE else " ".join(FORK_SUBSET)
    result = run(fork.root, "make", "test", env=fork_env(PYTEST_ADDOPTS=f"-p no:cacheprovider {subset}"))
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_the_report_and_the_gate_work_between_two_runs(fork) -> None:
    git(fork.root, "add", "-A")
    git(fork.root, "commit", "-q", "-m", "first run", "--allow-empty")
    params = fork.root / "params.yaml"
    params.write_text(params.read_text().replace("  C: 1.0", "  C: 0.9"))
    cli = [str(fork.root / ".venv/bin/edge-train")]
    second = run(fork.root, *cli, "run")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    parity = json.loads((fork.root / "artifacts/portable/parity.json").read_text())
    assert parity["max_abs_diff"] < 1e-5
    report = run(fork.root, *cli, "report", "--base", "HEAD", "--check")
    assert report.returncode == 0, report.stdout + report.stderr
    text = (fork.root / ".edge-train" / "report.md").read_text()
    assert f"Task: **{fork.task}**" in text
    assert HEADLINE[fork.task] in text
