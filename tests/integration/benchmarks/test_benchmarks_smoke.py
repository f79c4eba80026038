"""Every benchmark's code runs, on tiny sizes: `make bench` must not be the first to find it broken.

Timings are not checked here (a shared CI machine makes them meaningless); `make bench` measures them and
writes docs/benchmarks.md. Each benchmark runs in a fresh process, as `make bench` runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMOKE_ENV = {
    "EDGE_TRAIN_BENCH_SMOKE": "1",
    "EDGE_TRAIN_BENCH_SMALL_FILES": "40",
    "EDGE_TRAIN_BENCH_BIG_MB": "2",
}


@pytest.mark.parametrize("name", ["bench_floor", "bench_orchestration", "bench_storage", "bench_submit"])
def test_the_benchmark_runs_and_reports_a_table(name: str) -> None:
    script = f"import benchmarks.{name} as bench; print(bench.run())"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, **SMOKE_ENV},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| ---" in result.stdout, result.stdout
