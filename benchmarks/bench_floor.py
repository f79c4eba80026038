"""The pipeline against the floor: `edge-train run --no-release` (every stage forced to run) against
benchmarks/floor_script.py, one plain script doing the same work, on the same synthetic data.

Sizes come from EDGE_TRAIN_BENCH_FLOOR_ROWS (comma-separated; default 10k, 100k, 1M and 10M, the 10M run
alone about 10 minutes). Each size is measured in alternating pairs (median of the pairs); the figure is the
median of the per-pair time ratios, with each side's median time and peak memory: of the largest process,
and of the whole process tree at once (the runner, DVC and a step together; the highest of the pairs).
Above `FLOOR_MAX_ROWS` the pipeline runs once, alone: the floor script holds the whole table several times
over and would need more memory than the machine has.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.measure import Paired, Sample, alternating_pairs, load_note, measure, smoke, track_data
from ml.data.synthetic import write_synthetic_csv
from ml.steps.schema import load_schema
from tests.integration.clone import fresh_clone

FLOOR = Path(__file__).with_name("floor_script.py")
DEFAULT_ROWS = (10_000, 100_000, 1_000_000, 10_000_000)
PAIRS = 3
FLOOR_MAX_ROWS = 1_000_000
GOALS = {10_000: 3.0, 1_000_000: 1.5}
MEMORY = (
    "Where the memory goes at 10M rows (2.5 GB of CSV, 30 numeric features): prepare parses and checks the "
    "raw rows once, a batch at a time, keeping the checked rows in an anonymous temp file for its second "
    "pass (each batch to train or test in 128Ki-row row groups), and holds a batch, not the table; "
    "train fits the imputer and scaler a column at a time and fills the transformed "
    "matrix once (8M x 30 float64, 1.9 GB) from the file a row group at a time, where scikit-learn's own fit "
    "held the table three or four times over (about 10.6 GB projected at 8M training rows); evaluate scores "
    "64Ki rows at a time and keeps at most 1,000 points per curve. Below 1M training rows, or with "
    "categorical features, train is scikit-learn's fit as before."
)
WHERE = (
    "Where the pipeline's extra time goes: the floor imports pandas, scikit-learn, skops, skl2onnx and ONNX "
    "Runtime once, and so does the pipeline: `edge-train run` forks each step from one warm interpreter "
    "(ml/warm), which imports the steps' libraries while the first step runs, instead of four step "
    "processes importing them four times (about 2 s of CPU each, most of a step at 10k rows). Beyond that "
    "a step costs under 0.5 s of CPU with its work at 10k rows (no MLflow in any step: train writes the "
    "MLflow model folder itself, byte for byte as MLflow would, and each step spools its run and exits "
    "without the interpreter's teardown). The runner adds its checks and DVC (hashing each output) and, to "
    "log the spooled runs, MLflow and its SQLAlchemy store (in a thread while the steps run: free when a "
    "core is idle, paid in full on a loaded machine). At a million rows prepare parses the CSV once, not "
    "twice, and writes Parquet without dictionaries on number columns (ml/steps/tables.py)."
)
PEAK_GOAL_MIB = 4096
"""The whole process tree's peak at 10M rows (issue 13)."""


def sizes() -> list[int]:
    if smoke():
        return [2_000, 3_000]  # the second above floor_max_rows(): both kinds of row run
    chosen = os.environ.get("EDGE_TRAIN_BENCH_FLOOR_ROWS")
    return [int(n) for n in chosen.split(",")] if chosen else list(DEFAULT_ROWS)


def floor_max_rows() -> int:
    return 2_000 if smoke() else FLOOR_MAX_ROWS


def floor_command(root: Path, out: Path) -> list[str]:
    params = yaml.safe_load((root / "params.yaml").read_text())
    label = load_schema(root / "ml" / "steps" / "schema.yaml").label
    return [
        sys.executable, str(FLOOR), "--data", str(root / "data" / "raw"), "--label", label, "--out", str(out),
        "--test-size", str(params["prepare"]["test_size"]), "--seed", str(params["prepare"]["seed"]),
        "--C", str(params["train"]["C"]), "--max-iter", str(params["train"]["max_iter"]),
        "--solver", str(params["train"]["solver"]),
    ]  # fmt: skip


def pipeline_env() -> dict[str, str]:
    """As a user runs it in the clone: its own settings and MLflow store, no leftovers from this process."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("EDGE_TRAIN_ROOT", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def pipeline_sample(root: Path) -> Sample:
    """Every stage stale (no dvc.lock) and no run cache to restore from: the pipeline does the work."""
    (root / "dvc.lock").unlink(missing_ok=True)
    shutil.rmtree(root / ".dvc" / "cache" / "runs", ignore_errors=True)
    return measure([sys.executable, "-m", "ml", "run", "--no-release"], cwd=root, env=pipeline_env())


def measure_size(rows: int, workdir: Path) -> Paired | Sample:
    root = fresh_clone(workdir / f"repo-{rows}")
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    write_synthetic_csv(raw / "data.csv", rows, seed=0)
    track_data(root)
    if rows > floor_max_rows():
        return pipeline_sample(root)
    floor_out = workdir / f"floor-{rows}"
    pairs = 1 if smoke() else PAIRS
    return alternating_pairs(
        lambda: measure(floor_command(root, floor_out), cwd=workdir),
        lambda: pipeline_sample(root),
        pairs,
    )


def run() -> str:
    load = os.getloadavg()[0]
    lines = [
        "## The pipeline against the floor script (issue 13)",
        "",
        "`edge-train run --no-release` with every stage forced to run, against `benchmarks/floor_script.py` "
        "(read, split, fit, evaluate, save the model and its ONNX copy checked on the held-out rows, in one "
        "plain process: the work of the pipeline's four stages) on the same synthetic rows. Median of "
        "alternating pairs; peak = resident memory of the largest process, and of the whole process tree "
        "at once (sampled every 50 ms, highest of the pairs). CPU = user + system time of each side's whole "
        "process tree: on a machine shared with other work the wall-time ratio drifts towards it, because "
        "the pipeline's runner then gets no idle core to log to MLflow on while a step runs.",
        "",
        "| rows | floor s | pipeline s | pipeline / floor | goal | CPU s floor / pipeline | CPU ratio "
        "| floor peak MiB | pipeline peak MiB (largest process / whole tree) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes():
            result = measure_size(rows, Path(tmp))
            if isinstance(result, Sample):
                lines.append(
                    f"| {rows:,} | — | {result.seconds:.2f} | — | whole tree ≤ {PEAK_GOAL_MIB} MiB "
                    f"| — | — | — | {result.peak_mib:.0f} / **{result.tree_peak_mib:.0f}** |"
                )
                continue
            goal = f"≤ {GOALS[rows]:.1f}x" if rows in GOALS else ""
            lines.append(
                f"| {rows:,} | {result.baseline.seconds:.2f} | {result.measured.seconds:.2f} | "
                f"**{result.ratio:.2f}x** | {goal} | {result.baseline.cpu_seconds:.1f} / "
                f"{result.measured.cpu_seconds:.1f} | {result.cpu_ratio:.2f}x | "
                f"{result.baseline.peak_mib:.0f} | "
                f"{result.measured.peak_mib:.0f} / {result.measured.tree_peak_mib:.0f} |"
            )
            shutil.rmtree(Path(tmp) / f"repo-{rows}", ignore_errors=True)
    lines += [
        "",
        f"{PAIRS} alternating pairs per size (1 in smoke mode); above {floor_max_rows():,} rows one pipeline "
        "run alone (the floor script does not fit in memory there). The synthetic rows are written a million "
        f"at a time (`edge-train data synth`). {load_note(load)}",
        "",
        MEMORY,
        "",
        WHERE,
    ]
    return "\n".join(lines)
