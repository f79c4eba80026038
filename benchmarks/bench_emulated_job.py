"""An emulated edge run of the pipeline against a local run of the same stages, on the same data and seed.

The edge run is the job `submit` builds, run by the job emulator (tests/harness/azureml): each node in a
fresh snapshot and environment, pulling from and pushing to "ASH" (Azurite behind the gate, HTTPS with a
private CA), logging to the fake workspace. The baseline is `dvc repro --force` in the same clone: every
stage's command, nothing else. A second edge run with nothing changed shows the run cache on ASH at work.

Each pair is one local run and one edge run (a first run, then the same job again), in alternating order
(local first in even pairs), so a change in the load of a shared machine hits both sides alike; the ratios
are medians of the per-pair ratios. Every pair's edge side gets a new ASH (an empty run cache): a first run
that found the previous pair's run cache would restore its stages instead of running them. The job
environment is built once before any timing (the service caches the image by its spec, as the emulator
does). "Restored" counts the stage nodes where DVC said it restored the stage from the run cache
(`edge_project.RESTORED`), read from each node's logs before the job folder is removed.
EDGE_TRAIN_BENCH_PAIRS sets the number of pairs (default 3; 1 with EDGE_TRAIN_BENCH_SMOKE=1).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import smoke
from tests.harness.azureml.environment import build_environment, serialized_spec
from tests.harness.azureml.graph import load_nodes
from tests.harness.azureml.runner import JobResult
from tests.harness.azureml.services import AzureFakes
from tests.harness.servers import running_stack
from tests.integration.clone import edge_train, fresh_clone
from tests.integration.edge.edge_project import (
    PIPELINE,
    RESTORED,
    VAULT_NAME,
    connect_to_ash,
    dvc_env,
    emulator,
    vault_secrets,
)

METRICS = "reports/metrics.json"  # the local run's (dvc.yaml's metrics file)
PAIRS = 1 if smoke() else int(os.environ.get("EDGE_TRAIN_BENCH_PAIRS", "3"))


@dataclass(frozen=True)
class EdgeRuns:
    """One edge side of a pair: a first run on an empty ASH, then the same job with nothing changed."""

    first_s: float
    second_s: float
    first_restored: int
    second_restored: int
    stages: int
    metrics: list[dict[str, float]]  # what each run's evaluate node wrote to its cloud output


@dataclass(frozen=True)
class Pair:
    local_s: float
    edge: EdgeRuns
    local_metrics: dict[str, float]


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _restored(result: JobResult) -> int:
    """Stage nodes DVC restored from the run cache (the first node only checks the data is on ASH)."""
    assert result.ok, result.report()
    return sum(RESTORED in node.log_text() for node in result.nodes[1:])


def _metrics(result: JobResult) -> dict[str, float]:
    return json.loads(result.node("evaluate").outputs["metrics"].read_text())


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9) for k in a)


def _local(clone: Path) -> float:
    repro = [sys.executable, "-m", "dvc", "repro", "--force"]
    seconds, _ = _timed(
        lambda: subprocess.run(repro, cwd=clone, env=dvc_env(), capture_output=True, check=True)
    )
    return seconds


def _edge(clone: Path, work: Path) -> EdgeRuns:
    with running_stack(work / "ash", tls=True) as stack:
        connect_to_ash(clone, stack)
        secrets = vault_secrets(clone, stack)
        with AzureFakes(work / "azure", vault_name=VAULT_NAME, secrets=secrets) as fakes:
            job = emulator(clone, work / "job", fakes)
            first_s, first = _timed(job.run)
            second_s, second = _timed(job.run)
            # counted here: the node logs live in `work`, which goes when the benchmark's temp folder does
            restored = [_restored(result) for result in (first, second)]  # fails with the report if not ok
            metrics = [_metrics(result) for result in (first, second)]
            runs = EdgeRuns(first_s, second_s, *restored, len(first.nodes) - 1, metrics)
    assert runs.first_restored == 0, "a first edge run found a run cache on ASH: it did not run the stages"
    return runs


def _build_job_environment(clone: Path) -> None:
    from ml.azure.job import build_pipeline_job
    from ml.config import load_settings

    for node in load_nodes(build_pipeline_job(clone, load_settings(clone), PIPELINE)):
        build_environment(serialized_spec(node.component))


def _pair(clone: Path, work: Path, index: int) -> Pair:
    if index % 2 == 0:
        local_s = _local(clone)
        edge = _edge(clone, work)
    else:
        edge = _edge(clone, work)
        local_s = _local(clone)
    return Pair(local_s, edge, json.loads((clone / METRICS).read_text()))


def run() -> str:
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        clone = fresh_clone(Path(tmp) / "clone")
        warm_up = edge_train(clone, "run")  # compiles dvc.yaml, fills the local caches: not timed
        assert warm_up.returncode == 0, warm_up.stdout + warm_up.stderr
        _build_job_environment(clone)
        pairs = [_pair(clone, Path(tmp) / f"pair-{index}", index) for index in range(PAIRS)]
    load_after = os.getloadavg()[0]
    local = statistics.median([p.local_s for p in pairs])
    first = statistics.median([p.edge.first_s for p in pairs])
    second = statistics.median([p.edge.second_s for p in pairs])
    first_ratio = statistics.median([p.edge.first_s / p.local_s for p in pairs])
    second_ratio = statistics.median([p.edge.second_s / p.local_s for p in pairs])
    stages = pairs[0].edge.stages
    restored_first = sorted({p.edge.first_restored for p in pairs})
    restored_second = sorted({p.edge.second_restored for p in pairs})
    equal = all(_same(m, p.local_metrics) for p in pairs for m in p.edge.metrics)

    plural = "pairs" if len(pairs) > 1 else "pair"
    loaded = " (a shared machine, loaded by other work: the per-pair ratios spread more than when quiet). "

    def counts(values: list[int]) -> str:
        return " or ".join(str(v) for v in values) + f" of {stages}"

    rows = [
        f"| {i + 1} | {p.local_s:.1f} s | {p.edge.first_s:.1f} s ({p.edge.first_s / p.local_s:.2f}x), "
        f"{p.edge.first_restored}/{stages} restored | {p.edge.second_s:.1f} s "
        f"({p.edge.second_s / p.local_s:.2f}x), {p.edge.second_restored}/{stages} restored |"
        for i, p in enumerate(pairs)
    ]
    return "\n".join(
        [
            "## Emulated edge run against a local run (`bench_emulated_job`)",
            "",
            f"| run | median time | ratio to local (median of {len(pairs)} {plural}) | stages restored "
            "from the run cache on ASH |",
            "| --- | ---: | ---: | ---: |",
            f"| local: `dvc repro --force` (every stage) | {local:.1f} s | 1.00 | - |",
            f"| emulated edge run, first (empty ASH) | {first:.1f} s | {first_ratio:.2f} | "
            f"{counts(restored_first)} |",
            f"| emulated edge run, nothing changed | {second:.1f} s | {second_ratio:.2f} | "
            f"{counts(restored_second)} |",
            "",
            "| pair | local | edge, first | edge, nothing changed |",
            "| ---: | ---: | ---: | ---: |",
            *rows,
            "",
            "Alternating pairs (local first in odd-numbered pairs), each edge side on a new, empty ASH; "
            f"load average {load_before:.1f} before and {load_after:.1f} after, on {os.cpu_count()} cores"
            + (loaded if max(load_before, load_after) > (os.cpu_count() or 1) else ". ")
            + "An edge node pays for a fresh snapshot, a new process per node, pulling its inputs from ASH "
            "and pushing its outputs and run cache back; the cluster adds image pulls and scheduling, which "
            "the emulator does not. "
            + (
                "Every edge run's metrics equal the local run's (same data and seed). "
                if equal
                else "**The edge runs' metrics differ from the local run's.** "
            )
            + "The first node (`data.dvc`) only checks the data is on ASH (not a stage).",
        ]
    )
