"""Time and peak memory of one command, measured in a wrapper process of its own.

`getrusage(RUSAGE_CHILDREN)` is cumulative for the calling process, so each measured command runs under a
fresh wrapper whose children are only that command's process tree: its `ru_maxrss` is the peak resident
memory of the largest process in the tree (for a pipeline, the heaviest step). The whole tree's resident
memory (the runner, DVC and a step at once) is summed from /proc every 50 ms: its peak is what the machine
must hold (0 where there is no /proc).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_WRAPPER = """
import json, os, resource, subprocess, sys, threading, time

def tree_rss_kib(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            pass
    return total

start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
tree_peak = [0]
def sample():
    while child.poll() is None:
        tree_peak[0] = max(tree_peak[0], tree_rss_kib(child.pid))
        time.sleep(0.05)
if os.path.isdir("/proc"):
    threading.Thread(target=sample, daemon=True).start()
stdout, stderr = child.communicate()
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
tail = (stdout[-3000:] + stderr[-2000:]) if child.returncode else ""  # pytest reports on stdout
print(json.dumps({"code": child.returncode, "seconds": seconds, "peak_kib": usage.ru_maxrss,
                  "tree_peak_kib": tree_peak[0], "cpu": usage.ru_utime + usage.ru_stime, "stderr": tail}))
"""


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_mib: float
    """The largest single process."""
    tree_peak_mib: float = 0.0
    """The whole process tree at once (sampled)."""
    cpu_seconds: float = 0.0
    """User + system CPU of the whole process tree: what other people's work on the machine changes least."""


def measure(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run `command` once (in `env`, or this process's environment); raise with its stderr if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if report["code"] != 0:
        raise RuntimeError(f"{' '.join(command)} exited {report['code']}:\n{report['stderr']}")
    return Sample(report["seconds"], report["peak_kib"] / 1024, report["tree_peak_kib"] / 1024, report["cpu"])


@dataclass(frozen=True)
class Paired:
    """Medians of repeated alternating pairs, and the median of the per-pair ratios."""

    baseline: Sample
    measured: Sample
    ratio: float
    pairs: int
    cpu_ratio: float = 0.0
    """The median of the per-pair CPU-time ratios."""


def alternating_pairs(baseline: Callable[[], Sample], measured: Callable[[], Sample], pairs: int) -> Paired:
    """Run baseline and measured in alternating order, so drift in machine load hits both sides alike."""
    base, meas = [], []
    for index in range(pairs):
        order = (baseline, measured) if index % 2 == 0 else (measured, baseline)
        first, second = (side() for side in order)
        b, m = (first, second) if index % 2 == 0 else (second, first)
        base.append(b)
        meas.append(m)

    def median(samples: list[Sample]) -> Sample:
        return Sample(
            statistics.median(s.seconds for s in samples),
            statistics.median(s.peak_mib for s in samples),
            max(s.tree_peak_mib for s in samples),
            statistics.median(s.cpu_seconds for s in samples),
        )

    ratio = statistics.median(m.seconds / b.seconds for b, m in zip(base, meas, strict=True))
    cpu_ratio = statistics.median(
        m.cpu_seconds / b.cpu_seconds if b.cpu_seconds else 0.0 for b, m in zip(base, meas, strict=True)
    )
    return Paired(median(base), median(meas), ratio, pairs, cpu_ratio)


def load_note(start: float) -> str:
    """The machine's load around a benchmark: ratios of alternating pairs hold under load, seconds do not."""
    cores = os.cpu_count() or 1
    end = os.getloadavg()[0]
    busy = "loaded: other people's work shared the cores" if max(start, end) > cores else "quiet"
    return f"1-minute load average {start:.1f} at the start, {end:.1f} at the end, on {cores} cores ({busy})."


def smoke() -> bool:
    """`EDGE_TRAIN_BENCH_SMOKE=1`: tiny sizes, one pair — the CI check that the benchmark code works."""
    return os.environ.get("EDGE_TRAIN_BENCH_SMOKE") == "1"


def track_data(root: Path) -> None:
    """`dvc add data` in a benchmark's clone: the run refuses data/ that differs from data.dvc."""
    subprocess.run([sys.executable, "-m", "dvc", "add", "-q", "data"], cwd=root, check=True)
