"""What orchestration costs: `edge-train run` (params check, data check, DVC repro) against the three step
modules run by hand with the same arguments, on 100,000 synthetic rows (`edge-train data synth`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ml.data.synthetic import synthetic_frame
from tests.integration.clone import edge_train, fresh_clone

ROWS = 100_000
REPEATS = 2


def hand_run(workdir: Path) -> float:
    """The baseline: prepare, train, evaluate as plain subprocesses, nothing else."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlflow.db", "EDGE_TRAIN_ROOT": str(workdir)}
    commands = [
        ["ml.steps.prepare", "--raw-data", "data/raw", "--prepared", "artifacts/prepared"],
        ["ml.steps.train", "--prepared", "artifacts/prepared", "--model", "artifacts/model"],
        ["ml.steps.evaluate", "--prepared", "artifacts/prepared", "--model", "artifacts/model",
         "--metrics", "reports/metrics.json", "--plots", "reports/plots"],
    ]
    start = time.perf_counter()
    for command in commands:
        subprocess.run([sys.executable, "-m", *command], cwd=workdir, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def orchestrated_run(root: Path) -> float:
    """`edge-train run --no-release` after a change that forces every stage to run."""
    for path in ("dvc.lock",):
        (root / path).unlink(missing_ok=True)
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
        hand_dir = Path(tmp) / "hand"
        (hand_dir / "data").mkdir(parents=True)
        (hand_dir / "params.yaml").write_text("{}\n")
        (hand_dir / "data" / "raw").symlink_to(raw)
        hand, orchestrated = [], []
        for _ in range(REPEATS):  # alternate, so drift in machine load hits both sides alike
            hand.append(hand_run(hand_dir))
            orchestrated.append(orchestrated_run(root))
        start = time.perf_counter()
        unchanged = edge_train(root, "run", "--no-release")
        noop = time.perf_counter() - start
        assert unchanged.returncode == 0, unchanged.stderr
    best_hand, best_orch = min(hand), min(orchestrated)
    ratio = best_orch / best_hand
    return "\n".join([
        "## Orchestration overhead (issue 2)",
        "",
        f"{ROWS:,} synthetic rows; best of {REPEATS} alternating runs.",
        "",
        "| run | seconds |",
        "| --- | ---: |",
        f"| three step modules by hand (baseline) | {best_hand:.1f} |",
        f"| `edge-train run --no-release` (params + data check + `dvc repro`) | {best_orch:.1f} |",
        f"| `edge-train run --no-release`, nothing changed | {noop:.1f} |",
        "",
        f"**Orchestrated / by hand: {ratio:.2f}x** (goal: under 1.30x).",
    ])
