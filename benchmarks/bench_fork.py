"""How long a fork takes from `git clone` to a green `make run` and `make test` on its own table.

Each phase is a command its user runs, timed in a fresh process (benchmarks.measure): `git clone`,
`edge-train init --data … --label …`, `git add` + `git commit` of the files init names (these three are the
user's own minutes), then `make run` (creates .venv from the lock files, then the pipeline) and `make test`
(adds the test tools, then the default suite). Goal (issue 11): under 15 minutes from clone, under 3 of them
the user's.

Baseline: the same clone → make run → make test of the template as it is (the example data), measured in
alternating pairs with the fork, so the ratio says what adopting a table costs on top of the template.
Both use the warm uv cache and this checkout's .tools/ (Azurite, actionlint), as a second fork on the same
machine would; a first-ever install downloads ~1 GB more. Runs in temporary clones; the checkout is not
touched.

`EDGE_TRAIN_BENCH_FORK_TASKS` (default `regression`) lists the tasks to fork; `EDGE_TRAIN_BENCH_PAIRS`
(default 1: one pair is ~20 minutes on a 2-core machine). Smoke mode runs one task and a small part of
the suite.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.measure import measure, smoke
from tests.harness.fork import LABELS, adopt, clone, commit_as_told, fork_env, own_table

USER_PHASES = ("clone", "init", "commit")
PHASES = (*USER_PHASES, "make run", "make test")
SMOKE_SUITE = "tests/unit/steps"
ROWS = int(os.environ.get("EDGE_TRAIN_BENCH_FORK_ROWS", "400"))


def _cell(seconds: dict[str, float], phase: str) -> str:
    return f"{seconds[phase]:.0f}" if phase in seconds else "-"  # the template has no init or commit


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _journey(workdir: Path, task: str | None) -> dict[str, float]:
    """Seconds per phase for one clone; `task` None is the template as it is (no init, no commit)."""
    seconds: dict[str, float] = {}
    root = workdir / "repo"
    seconds["clone"] = _timed(lambda: clone(root))
    if task is not None:
        table = workdir / "mine.csv"
        own_table(task, rows=ROWS).to_csv(table, index=False)
        start = time.perf_counter()
        init = adopt(root, table, task)
        seconds["init"] = time.perf_counter() - start
        if init.returncode:
            raise RuntimeError(f"init failed:\n{init.stdout}{init.stderr}")
        seconds["commit"] = _timed(lambda: commit_as_told(root, init.stdout))
    env = fork_env()
    seconds["make run"] = measure(["make", "run"], root, env).seconds
    suite = fork_env(PYTEST_ADDOPTS=f"-q -p no:cacheprovider {SMOKE_SUITE if smoke() else ''}")
    seconds["make test"] = measure(["make", "test"], root, suite).seconds
    return seconds


def _pairs(task: str, pairs: int) -> tuple[dict[str, float], dict[str, float], float]:
    """Median seconds per phase of the template and of the fork, and the median ratio of their totals."""
    template_runs: list[dict[str, float]] = []
    fork_runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-fork-") as scratch:
        for index in range(pairs):
            sides = [("template", None), (task, task)]
            for name, side_task in sides if index % 2 == 0 else reversed(sides):
                workdir = Path(scratch) / f"{index}-{name}"
                workdir.mkdir()
                (template_runs if side_task is None else fork_runs).append(_journey(workdir, side_task))

    def median(runs: list[dict[str, float]]) -> dict[str, float]:
        return {phase: statistics.median(one[phase] for one in runs) for phase in runs[0]}

    ratio = statistics.median(
        sum(f.values()) / sum(t.values()) for t, f in zip(template_runs, fork_runs, strict=True)
    )
    return median(template_runs), median(fork_runs), ratio


def run() -> str:
    tasks = os.environ.get("EDGE_TRAIN_BENCH_FORK_TASKS", "regression").split(",")
    tasks = tasks[:1] if smoke() else tasks
    unknown = set(tasks) - set(LABELS)
    if unknown:
        sys.exit(f"EDGE_TRAIN_BENCH_FORK_TASKS: unknown task(s) {sorted(unknown)}; use {', '.join(LABELS)}")
    pairs = 1 if smoke() else int(os.environ.get("EDGE_TRAIN_BENCH_PAIRS", "1"))
    load = os.getloadavg()[0]
    lines = [
        "### A fork, from clone to a green `make run` and `make test` (issue 11)",
        "",
        f"Each task's fork against the template as it is, {pairs} alternating pair(s); warm uv cache; "
        f"load average {load:.1f} on {os.cpu_count()} cores when it started"
        + (" (the machine was shared: wall times are inflated, the ratio less so)." if load > 2 else "."),
        "Goal: under 15 minutes from clone, under 3 of them the user's (clone, init, commit).",
        "",
        "| phase | " + " | ".join(f"template (s) | {task} fork (s)" for task in tasks) + " |",
        "| --- | " + " | ".join("---: | ---:" for _ in tasks) + " |",
    ]
    results = {task: _pairs(task, pairs) for task in tasks}
    for phase in PHASES:
        cells = [f"{_cell(base, phase)} | {_cell(fork, phase)}" for base, fork, _ in results.values()]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    for label, phases in (("the user's (clone, init, commit)", USER_PHASES), ("total from clone", PHASES)):
        cells = [
            f"{sum(template.get(p, 0.0) for p in phases):.0f} | {sum(fork.get(p, 0.0) for p in phases):.0f}"
            for template, fork, _ in results.values()
        ]
        lines.append(f"| **{label}** | " + " | ".join(cells) + " |")
    lines.append("")
    for task, (_, fork, ratio) in results.items():
        total = sum(fork.values())
        user = sum(fork[p] for p in USER_PHASES)
        lines.append(
            f"- {task}: {total / 60:.1f} min from clone ({'meets' if total < 900 else 'misses'} 15), "
            f"{user / 60:.1f} min the user's ({'meets' if user < 180 else 'misses'} 3); "
            f"{ratio:.2f}x the template's own clone → make run → make test."
        )
    return "\n".join(lines) + "\n"
