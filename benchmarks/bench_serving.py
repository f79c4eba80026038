"""Scoring latency of the model image's server: native scikit-learn vs ONNX, 1 row and 1,000 rows; and
batches of 1 to 10,000 rows against the bare ONNX Runtime call.

The server and model files are exactly the image's (`write_context`), run with this interpreter on loopback
over one keep-alive connection. Baseline in the same run: MLflow's own `mlflow models serve` on the same
model (skipped, with the reason, if it cannot start). Rows are synthetic: no data is needed or read.

The batch table's baseline is the floor of any ONNX server: `InferenceSession.run` on arrays already built,
in this process. Against it, in alternating calls, the image's `Scorer` (JSON body parsed, columns built
with NumPy, checked, predicted) and the whole HTTP round trip to the image's server.
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

from benchmarks.measure import load_note, smoke
from ml.paths import MODEL_DIR
from ml.steps.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = {1: 20, 1000: 5} if smoke() else {1: 400, 1000: 60}
BATCH_ROUNDS = {1: 20, 100: 10, 1000: 5, 10_000: 3} if smoke() else {1: 400, 100: 200, 1000: 100, 10_000: 20}
BATCH_GOAL = (1000, 2.0)  # issue 13: 1,000 rows p50 at most 2x the bare ONNX call
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


def _body(rows: int) -> str:
    """A `dataframe_split` request of synthetic rows: numbers in range, a known category for each category."""
    schema = load_schema()
    rng = np.random.default_rng(rows)
    columns = []
    for feature in schema.features:
        if feature.kind == "categorical":
            known = feature.categories or ("a",)
            columns.append([known[i % len(known)] for i in range(rows)])
        else:
            columns.append(rng.uniform(0.01, 30, size=rows).round(4).tolist())
    data = [list(row) for row in zip(*columns, strict=True)]
    return json.dumps({"dataframe_split": {"columns": schema.names, "data": data}})


def _latencies(port: int, rows: int, rounds: int | None = None) -> list[float]:
    body = _body(rows)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    timings = []
    for i in range((rounds or ROUNDS[rows]) + 10):
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


def _batches(context: Path, port: int) -> dict[int, dict[str, list[float]]]:
    """Per batch size, alternating: the bare ONNX call, the image's Scorer in this process, the server."""
    sys.path.insert(0, str(context))
    try:
        from server import Scorer  # the image's own copy, as the image imports it
    finally:
        sys.path.remove(str(context))
    scorer = Scorer(context, "onnx")
    session = scorer._session
    output = session.get_outputs()[0].name
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    result = {}
    for rows, rounds in BATCH_ROUNDS.items():
        body = _body(rows)
        feed = {
            name: column.reshape(-1, 1) if cat else column.astype("float32").reshape(-1, 1)
            for name, column, cat in zip(
                scorer._inputs, scorer.matrix(json.loads(body)), scorer.categorical, strict=True
            )
        }

        def bare() -> None:
            session.run([output], feed)  # noqa: B023 (called within this iteration)

        def in_process() -> None:
            scorer.predict(scorer.matrix(json.loads(body)))  # noqa: B023

        def server() -> None:
            conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})  # noqa: B023
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"scoring failed with HTTP {response.status}")

        sides = {"bare": bare, "scorer": in_process, "server": server}
        timings: dict[str, list[float]] = {name: [] for name in sides}
        for i in range(rounds + 3):
            order = list(sides.items()) if i % 2 == 0 else list(reversed(sides.items()))
            for name, call in order:
                start = time.perf_counter()
                call()
                if i >= 3:  # warm-up
                    timings[name].append((time.perf_counter() - start) * 1000)
        result[rows] = timings
    conn.close()
    return result


def _batch_report(batches: dict[int, dict[str, list[float]]]) -> list[str]:
    def p(values: list[float], q: float) -> float:
        return float(np.percentile(values, q))

    rows_goal, ratio_goal = BATCH_GOAL
    lines = [
        "",
        "### Batches against the bare ONNX Runtime call",
        "",
        "Baseline: `InferenceSession.run` on column arrays already built (one intra-op thread, as the image "
        "runs it). `Scorer`: the image's code in this process — JSON body parsed, columns built and checked "
        "with NumPy, predicted. Server: the whole POST /invocations round trip on loopback. Calls alternate "
        "(bare, Scorer, server, then reversed); p50 / p99 in ms; ratio = p50 ÷ the bare call's p50. "
        f"Goal: {rows_goal:,} rows, Scorer p50 at most {ratio_goal:.0f}x the bare call.",
        "",
        "| rows | bare ONNX p50 | p99 | Scorer p50 | p99 | Scorer / bare | server p50 | p99 "
        "| server / bare |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rows, t in batches.items():
        bare = p(t["bare"], 50)
        lines.append(
            f"| {rows:,} | {bare:.3f} | {p(t['bare'], 99):.3f} | {p(t['scorer'], 50):.3f} | "
            f"{p(t['scorer'], 99):.3f} | **{p(t['scorer'], 50) / bare:.1f}x** | {p(t['server'], 50):.3f} | "
            f"{p(t['server'], 99):.3f} | {p(t['server'], 50) / bare:.1f}x |"
        )
    return lines


def _measure(command: list[str], env: dict[str, str], port: int, work=None):
    """Start the server, run `work` against it (default: the 1 and 1,000 row latencies), stop it."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not _wait(port, process):
            why = process.stderr.read()[-200:] if process.poll() is not None else "timeout"
            return f"did not start: {why}"
        if work is not None:
            return work()
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
    from ml.serving.context import write_context
    from ml.steps.export import convert

    if not (ROOT / MODEL_DIR / "MLmodel").is_file():
        raise SystemExit("no trained model: run `make run` first")
    load = os.getloadavg()[0]
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
        batches = {}
        for flavor in ("native", "onnx"):
            port = _free_port()
            env = {
                **base_env,
                "PORT": str(port),
                "EDGE_TRAIN_FLAVOR": flavor,
                "EDGE_TRAIN_MODEL_ROOT": str(context),
            }
            command = [sys.executable, str(context / "server.py")]
            results[f"image server, {flavor}"] = _measure(command, env, port)
            if flavor == "onnx":
                batches = _measure(command, env, port, lambda port=port: _batches(context, port))
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
    report = _report(results) + f"\n{load_note(load)}\n"
    if isinstance(batches, str):
        return report + f"\nBatches against the bare ONNX call: the server {batches}.\n"
    return report + "\n".join(_batch_report(batches)) + "\n"


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
