"""What orchestration costs: `edge-train run` (params check, data check, DVC repro) against the commands of
dvc.yaml's stages run by hand, on 100,000 synthetic rows (`edge-train data synth`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.measure import smoke, track_data
from ml.data.synthetic import synthetic_frame
from tests.integration.clone import edge_train, fresh_clone

ROWS = 2_000 if smoke() else 100_000
REPEATS = 1 if smoke() else 2


def stage_commands(root: Path) -> list[str]:
    """The commands dvc.yaml runs, with `${section.key}` filled from params.yaml: the work without DVC."""
    params = yaml.safe_load((root / "params.yaml").read_text())

    def value(match: re.Match[str]) -> str:
        section, key = match[1].split(".", 1)
        return str(params[section][key])

    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    return [re.sub(r"\$\{([\w.]+)\}", value, stage["cmd"]) for stage in stages.values()]


def hand_run(workdir: Path, commands: list[str]) -> float:
    """The baseline: each stage's command as a plain subprocess, nothing else."""
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlflow.db",
        "EDGE_TRAIN_ROOT": str(workdir),
    }
    start = time.perf_counter()
    for command in commands:
        command = command.replace("python ", f"{sys.executable} ", 1)
        subprocess.run(command, shell=True, cwd=workdir, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def orchestrated_run(root: Path) -> float:
    """`edge-train run --no-release` with every stage forced to run.

    Without dvc.lock every stage is stale, and without DVC's run cache none can be restored instead of run
    (a restore would make the orchestrated side look faster than the work itself).
    """
    (root / "dvc.lock").unlink(missing_ok=True)
    shutil.rmtree(root / ".dvc" / "cache" / "runs", ignore_errors=True)
    start = time.perf_counter()
    result = edge_train(root, "run", "--no-release")
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return elapsed


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        root = fresh_clone(Path(tmp) / "repo")
        raw = root / "data" / "raw"
        raw.mkdir(parents=True)
        synthetic_frame(ROWS, seed=0).to_csv(raw / "breast_cancer.csv", index=False)
        track_data(root)
        hand_dir = Path(tmp) / "hand"
        (hand_dir / "data").mkdir(parents=True)
        shutil.copy(root / "params.yaml", hand_dir / "params.yaml")
        commands = stage_commands(root)
        (hand_dir / "data" / "raw").symlink_to(raw)
        hand, orchestrated = [], []
        for _ in range(REPEATS):  # alternate, so drift in machine load hits both sides alike
            hand.append(hand_run(hand_dir, commands))
            orchestrated.append(orchestrated_run(root))
        start = time.perf_counter()
        unchanged = edge_train(root, "run", "--no-release")
        noop = time.perf_counter() - start
        assert unchanged.returncode == 0, unchanged.stderr
    best_hand, best_orch = min(hand), min(orchestrated)
    ratio = best_orch / best_hand
    return "\n".join(
        [
            "## Orchestration overhead (issue 2)",
            "",
            f"{ROWS:,} synthetic rows; best of {REPEATS} alternating runs.",
            "",
            "| run | seconds |",
            "| --- | ---: |",
            f"| the stages' commands by hand (baseline) | {best_hand:.1f} |",
            f"| `edge-train run --no-release` (params + data check + `dvc repro`) | {best_orch:.1f} |",
            f"| `edge-train run --no-release`, nothing changed | {noop:.1f} |",
            "",
            f"**Orchestrated / by hand: {ratio:.2f}x** (goal: under 1.30x).",
        ]
    )
