"""Where a model came from: git commit, data hash, params hash, pipeline run and metrics.

The model's identity is the hash DVC records for the trained model folder: DVC only retrains when code, data
or params change, so the same inputs keep the same identity and registering again finds the same version.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ml.errors import EdgeTrainError
from ml.params import params_hash
from ml.paths import METRICS_FILE, MODEL_DIR


@dataclass(frozen=True)
class Lineage:
    model_hash: str
    data_hash: str
    params_hash: str
    git_commit: str
    pipeline_run: str
    metrics: dict[str, float] = field(default_factory=dict)

    def tags(self) -> dict[str, str]:
        tags = {
            "edge_train.model_hash": self.model_hash,
            "edge_train.data_hash": self.data_hash,
            "edge_train.params_hash": self.params_hash,
            "edge_train.git_commit": self.git_commit,
            "edge_train.pipeline_run": self.pipeline_run,
        }
        tags.update({f"metric.{k}": f"{v:.6g}" for k, v in sorted(self.metrics.items())})
        return tags


def model_hash(root: Path) -> str:
    """The md5 DVC recorded for artifacts/model in dvc.lock."""
    lock = root / "dvc.lock"
    if not lock.is_file():
        raise EdgeTrainError("no trained model: dvc.lock is missing", hint="run `edge-train run` first")
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    for stage in stages.values():
        for out in stage.get("outs", []):
            if out.get("path") == MODEL_DIR:
                return out["md5"].removesuffix(".dir")
    raise EdgeTrainError(
        f"dvc.lock records no {MODEL_DIR} output", hint="run `edge-train run` to train the model"
    )


def data_hash(root: Path) -> str:
    data_dvc = yaml.safe_load((root / "data.dvc").read_text())
    return data_dvc["outs"][0]["md5"].removesuffix(".dir")


def git_commit(root: Path) -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return result.stdout.strip() + ("-dirty" if dirty else "")


def read_lineage(root: Path, pipeline_run: str = "local") -> Lineage:
    metrics_path = root / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Lineage(
        model_hash=model_hash(root),
        data_hash=data_hash(root),
        params_hash=params_hash(root),
        git_commit=git_commit(root),
        pipeline_run=pipeline_run,
        metrics={k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
    )
