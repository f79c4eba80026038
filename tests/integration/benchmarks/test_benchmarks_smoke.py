"""Every benchmark's code runs, on tiny sizes: `make bench` must not be the first to find it broken.

Timings are not checked here (a shared CI machine makes them meaningless); `make bench` measures them and
writes docs/benchmarks.md. Each benchmark runs in a fresh process, as `make bench` runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.clone import edge_train, fresh_clone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMOKE_ENV = {
    "EDGE_TRAIN_BENCH_SMOKE": "1",
    "EDGE_TRAIN_BENCH_SMALL_FILES": "40",
    "EDGE_TRAIN_BENCH_BIG_MB": "2",
}


# Every benchmark, as `make bench` finds them: a new benchmark file is smoke-run without editing this test.
BENCHMARKS = sorted(path.stem for path in (REPO_ROOT / "benchmarks").glob("bench_*.py"))
# Benchmarks that read what a run leaves in the checkout (a trained model; a commit of its outputs on top of
# this checkout's, the report's HEAD~1 even in a shallow CI checkout): they run in a fresh clone after a run
# whose outputs are committed there, so the smoke test neither needs nor touches this checkout's outputs.
AFTER_A_RUN = {"bench_report", "bench_serving"}


@pytest.mark.parametrize("name", BENCHMARKS)
def test_the_benchmark_runs_and_reports_a_table(name: str, tmp_path: Path) -> None:
    where = REPO_ROOT
    if name in AFTER_A_RUN:
        where = fresh_clone(tmp_path / "clone")
        trained = edge_train(where, "run", "--no-release")
        assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
        for git in (["git", "add", "-A"], ["git", "commit", "-q", "--allow-empty", "-m", "a run's outputs"]):
            subprocess.run(git, cwd=where, check=True, capture_output=True)
    script = f"import benchmarks.{name} as bench; print(bench.run())"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=where,
        env={**os.environ, **SMOKE_ENV},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| ---" in result.stdout, result.stdout
