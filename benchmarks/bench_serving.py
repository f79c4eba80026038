"""Scoring latency of the model image's server: native scikit-learn vs ONNX, 1 row and 1,000 rows.

The server and model files are exactly the image's (`write_context`), run with this interpreter on loopback
over one keep-alive connection. Baseline in the same run: MLflow's own `mlflow models serve` on the same
model (skipped, with the reason, if it cannot start). Rows are synthetic: no data is needed or read.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.measure import smoke
from ml.paths import MODEL_DIR
from ml.steps.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = {1: 20, 1000: 5} if smoke() else {1: 400, 1000: 60}
MLFLOW_ANCHOR_MS = 4.8  # MLflow's own server, p50 for one row, measured on this kind of machine (lab notes)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int, process: subprocess.Popen, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _latencies(port: int, rows: int) -> list[float]:
    rng = np.random.default_rng(rows)
    data = rng.uniform(0.01, 30, size=(rows, len(load_schema().names))).round(4).tolist()
    body = json.dumps({"dataframe_split": {"columns": load_schema().names, "data": data}})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    timings = []
    for i in range(ROUNDS[rows] + 10):
        start = time.perf_counter()
        conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"scoring failed with HTTP {response.status}")
        if i >= 10:  # warm-up
            timings.append((time.perf_counter() - start) * 1000)
    conn.close()
    return timings


def _measure(command: list[str], env: dict[str, str], port: int) -> dict[int, tuple[float, float]] | str:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not _wait(port, process):
            why = process.stderr.read()[-200:] if process.poll() is not None else "timeout"
            return f"did not start: {why}"
        result = {}
        for rows in ROUNDS:
            timings = _latencies(port, rows)
            result[rows] = (statistics.median(timings), float(np.percentile(timings, 99)))
        return result
    finally:
        process.terminate()
        process.wait(timeout=20)


def run() -> str:
    from ml.modelio import load_native_model
    from ml.release.portable import convert
    from ml.serving.context import write_context

    if not (ROOT / MODEL_DIR / "MLmodel").is_file():
        raise SystemExit("no trained model: run `make run` first")
    bin_dir = str(Path(sys.executable).parent)
    base_env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOST": "127.0.0.1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    results: dict[str, dict[int, tuple[float, float]] | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        onnx_path.write_bytes(convert(load_native_model(ROOT / MODEL_DIR), load_schema()))
        context = write_context(ROOT, {"model": "bench"}, onnx_path, target=Path(tmp) / "image")
        for flavor in ("native", "onnx"):
            port = _free_port()
            env = {
                **base_env,
                "PORT": str(port),
                "EDGE_TRAIN_FLAVOR": flavor,
                "EDGE_TRAIN_MODEL_ROOT": str(context),
            }
            results[f"image server, {flavor}"] = _measure(
                [sys.executable, str(context / "server.py")], env, port
            )
        port = _free_port()
        results["MLflow `models serve` (baseline)"] = _measure(
            [
                f"{bin_dir}/mlflow",
                "models",
                "serve",
                "-m",
                str(ROOT / MODEL_DIR),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                "1",
            ],
            base_env,
            port,
        )
    return _report(results)


def _report(results: dict[str, dict[int, tuple[float, float]] | str]) -> str:
    baseline = results.get("MLflow `models serve` (baseline)")
    lines = [
        "## Model image scoring latency (`bench_serving`)",
        "",
        "POST /invocations (`dataframe_split`), one keep-alive connection on loopback; p50 / p99 in ms. "
        f"Ratio = baseline p50 ÷ this p50 (higher is faster). Anchor: MLflow's server p50 "
        f"{MLFLOW_ANCHOR_MS} ms for one row in the lab notes.",
        "",
        "| server | 1 row p50 | 1 row p99 | 1,000 rows p50 | 1,000 rows p99 | ratio (1 row) "
        "| ratio (1,000) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        if isinstance(result, str):
            lines.append(f"| {name} | {result} | | | | | |")
            continue
        ratios = [
            "" if isinstance(baseline, str) or baseline is None else f"{baseline[r][0] / result[r][0]:.2f}x"
            for r in ROUNDS
        ]
        lines.append(
            f"| {name} | {result[1][0]:.2f} | {result[1][1]:.2f} | {result[1000][0]:.2f} | "
            f"{result[1000][1]:.2f} | {ratios[0]} | {ratios[1]} |"
        )
    return "\n".join(lines) + "\n"
