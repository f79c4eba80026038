"""How long the PR report takes, against DVC's own comparison commands as the baseline.

Baseline: `dvc metrics diff`, `dvc params diff` and `dvc diff` against the same base, three processes, the
tables a CML-style workflow would paste into a comment. Ours: one `edge-train report` process that also
evaluates the gate, counts rows and draws the charts. Both run in this checkout against HEAD~1, median of 3.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BASE = "HEAD~1"
REPEATS = 3


def _median_seconds(commands: list[list[str]]) -> float:
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for command in commands:
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        ours = _median_seconds(
            [[str(BIN / "edge-train"), "report", "--base", BASE, "--output", str(Path(tmp) / "report.md")]]
        )
    dvc = str(BIN / "dvc")
    baseline = _median_seconds(
        [
            [dvc, "metrics", "diff", BASE, "--md"],
            [dvc, "params", "diff", BASE, "--md"],
            [dvc, "diff", BASE, "--md"],
        ]
    )
    return "\n".join(
        [
            "## PR report (`edge-train report`)",
            "",
            "| what | median wall time | ratio |",
            "| --- | ---: | ---: |",
            f"| baseline: `dvc metrics diff` + `dvc params diff` + `dvc diff` | {baseline:.2f} s | 1.00 |",
            f"| `edge-train report` (+ gate, row counts, charts) | {ours:.2f} s | {ours / baseline:.2f} |",
            "",
            f"Against `{BASE}` in this checkout, median of {REPEATS} runs, each a fresh process.",
        ]
    )
