"""An emulated edge run of the pipeline against a local run of the same stages, on the same data and seed.

The edge run is the job `submit` builds, run by the job emulator (tests/harness/azureml): each node in a
fresh snapshot and environment, pulling from and pushing to "ASH" (Azurite behind the gate, HTTPS with a
private CA), logging to the fake workspace. The baseline is `dvc repro --force` in the same clone: every
stage's command, nothing else. A second emulated run with nothing changed shows the run cache on ASH at work.
The job environment is cached by its spec (as the service caches the image); build it once before timing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness.azureml.services import AzureFakes
from tests.harness.servers import running_stack
from tests.integration.clone import edge_train, fresh_clone
from tests.integration.edge.edge_project import (
    VAULT_NAME,
    connect_to_ash,
    dvc_env,
    emulator,
    skipped,
    vault_secrets,
)


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        clone = fresh_clone(Path(tmp) / "clone")
        assert edge_train(clone, "run").returncode == 0
        repro = [sys.executable, "-m", "dvc", "repro", "--force"]
        local_s, _ = _timed(
            lambda: subprocess.run(repro, cwd=clone, env=dvc_env(), capture_output=True, check=True)
        )
        with running_stack(Path(tmp) / "ash", tls=True) as stack:
            connect_to_ash(clone, stack)
            secrets = vault_secrets(clone, stack)
            with AzureFakes(Path(tmp) / "azure", vault_name=VAULT_NAME, secrets=secrets) as fakes:
                job = emulator(clone, Path(tmp) / "job", fakes)
                first_s, first = _timed(job.run)
                second_s, second = _timed(job.run)
    for result in (first, second):
        assert result.ok, result.report()  # type: ignore[attr-defined]
    cached = sum(skipped(n.log_text()) for n in second.nodes[1:])  # type: ignore[attr-defined]
    nodes = len(second.nodes)  # type: ignore[attr-defined]
    return "\n".join(
        [
            "## Emulated edge run against a local run (`bench_emulated_job`)",
            "",
            "| run | time | ratio to local |",
            "| --- | ---: | ---: |",
            f"| local: `dvc repro --force` (every stage) | {local_s:.1f} s | 1.00 |",
            f"| emulated edge run, first | {first_s:.1f} s | {first_s / local_s:.2f} |",
            f"| emulated edge run, nothing changed | {second_s:.1f} s | {second_s / local_s:.2f} |",
            "",
            f"In the second edge run {cached} of {nodes - 1} stage nodes did not run again (restored "
            "from the run cache on ASH, or up to date; the data node only checks the data is there). An edge "
            "node pays for a fresh snapshot, a new process per node, pulling its inputs from ASH and pushing "
            "its outputs and run cache back; the cluster adds image pulls and scheduling, which the emulator "
            "does not.",
        ]
    )
