"""Where a model came from, and what it is: the hash of its bytes, the data, params, commit and edge run.

The model's identity is the content hash of the model folder actually registered (each file's path and
bytes), never a record of what should have been trained: after an edge run the runner holds the model the
job returned, and `dvc.lock` on the runner knows nothing of it. The same bytes keep the same identity, so
registering or versioning them again finds the existing version; other bytes can never take its place.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ml.contenthash import content_hash
from ml.errors import EdgeTrainError
from ml.params import params_hash
from ml.paths import METRICS_FILE, MODEL_DIR, PLOTS_DIR, STATE_DIR

# Files a run writes (the outputs): changing them does not change what the commit trains.
RUN_OUTPUTS = ("dvc.lock", METRICS_FILE, PLOTS_DIR)
# Which edge run returned the model in artifacts/model: `submit --wait` writes it after the download, the
# release steps (separate processes, separate workflow steps) read it.
EDGE_RUN_FILE = f"{STATE_DIR}/edge-run.json"


@dataclass(frozen=True)
class Lineage:
    model_hash: str
    data_hash: str
    params_hash: str
    git_commit: str
    pipeline_run: str
    metrics: dict[str, float] = field(default_factory=dict)
    onnx_hash: str = ""

    def tags(self) -> dict[str, str]:
        tags = {
            "edge_train.model_hash": self.model_hash,
            "edge_train.data_hash": self.data_hash,
            "edge_train.params_hash": self.params_hash,
            "edge_train.git_commit": self.git_commit,
            "edge_train.pipeline_run": self.pipeline_run,
        }
        if self.onnx_hash:
            tags["edge_train.onnx_hash"] = self.onnx_hash
        tags.update({f"metric.{k}": f"{v:.6g}" for k, v in sorted(self.metrics.items())})
        return tags


def model_hash(root: Path) -> str:
    """The content hash of artifacts/model: the bytes that get registered, wherever they were trained."""
    model = root / MODEL_DIR
    if not (model / "MLmodel").is_file():
        raise EdgeTrainError(
            f"no trained model in {MODEL_DIR}/",
            hint="run `edge-train run` (or `edge-train submit --wait`) to train it first",
        )
    return content_hash(model)


def onnx_hash(root: Path, model: str) -> str:
    """The content hash of the ONNX model the release ships with the model `model`: the export stage's
    model.onnx when its parity report passed for these model bytes; "" when there is none to ship."""
    from ml.release.portable import shipped_onnx

    try:
        path = shipped_onnx(root, model)
    except EdgeTrainError:  # refused where it matters (the release checks it before registering)
        return ""
    return content_hash(path) if path else ""


def data_hash(root: Path) -> str:
    data_dvc = yaml.safe_load((root / "data.dvc").read_text())
    return data_dvc["outs"][0]["md5"].removesuffix(".dir")


def git_commit(root: Path) -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return "unknown"
    return result.stdout.strip() + ("-dirty" if uncommitted_inputs(root) else "")


def _changed_paths(root: Path, untracked: str) -> list[str]:
    """Paths `git status` shows as changed since HEAD (new files as `untracked` says: "no" or "all")."""
    status = subprocess.run(
        ["git", "status", "--porcelain", f"--untracked-files={untracked}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line[3:].split(" -> ")[-1] for line in status.splitlines() if line.strip()]


def _is_run_output(path: str) -> bool:
    return any(path == out or path.startswith(f"{out}/") for out in RUN_OUTPUTS)


def uncommitted_inputs(root: Path) -> list[str]:
    """Tracked files changed since HEAD, except what a run writes: the commit does not say what trained."""
    return [path for path in _changed_paths(root, "no") if not _is_run_output(path)]


def uncommitted_run_outputs(root: Path) -> list[str]:
    """What a run wrote that differs from HEAD (dvc.lock, metrics, plots new or removed): uncommitted, a pull
    request's report has no base to compare the next run with."""
    return [path for path in _changed_paths(root, "all") if _is_run_output(path)]


def record_edge_run(root: Path, job_name: str) -> None:
    """Remember that the model now in artifacts/model is what Azure ML job `job_name` returned."""
    from ml.atomic import atomic_write_text

    record = {"job": job_name, "model_hash": model_hash(root)}
    atomic_write_text(root / EDGE_RUN_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")


def edge_run(root: Path, model: str) -> str | None:
    """The Azure ML job that returned the model whose content hash is `model`, if an edge run did.

    The record counts only for the bytes it was written for: a model retrained here afterwards is not the
    edge run's, whatever the record says.
    """
    try:
        record = json.loads((root / EDGE_RUN_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("model_hash") != model:
        return None
    return str(record.get("job") or "") or None


def read_lineage(root: Path, pipeline_run: str | None = None) -> Lineage:
    """The lineage of artifacts/model. `pipeline_run` (the run that is training now, when one is) wins;
    otherwise the edge run that returned these bytes; otherwise "local"."""
    metrics_path = root / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    model = model_hash(root)
    return Lineage(
        model_hash=model,
        data_hash=data_hash(root),
        params_hash=params_hash(root),
        git_commit=git_commit(root),
        pipeline_run=pipeline_run or edge_run(root, model) or "local",
        metrics={k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
        onnx_hash=onnx_hash(root, model),
    )
