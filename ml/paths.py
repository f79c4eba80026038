"""Where things live in a checkout of the template.

One module owns every path so that steps, CLI and tests agree, and a reader finds the layout in one place.
"""

from __future__ import annotations

import os
from pathlib import Path

from ml.errors import EdgeTrainError

PARAMS_FILE = "params.yaml"
SETTINGS_FILE = "edge-train.toml"
DATA_DIR = "data"
RAW_DATA_DIR = "data/raw"
ARTIFACTS_DIR = "artifacts"
PREPARED_DIR = "artifacts/prepared"
TRAIN_FILE = "train.parquet"
"""Inside PREPARED_DIR: the training rows, Parquet so column types survive between steps."""
TEST_FILE = "test.parquet"
MODEL_DIR = "artifacts/model"
PORTABLE_DIR = "artifacts/portable"
"""The export step's output: the ONNX model (only when it passed the parity check) and the parity report."""
ONNX_FILE = "model.onnx"
PARITY_FILE = "parity.json"
REPORTS_DIR = "reports"
METRICS_FILE = "reports/metrics.json"
PLOTS_DIR = "reports/plots"
STATE_DIR = ".edge-train"
PIPELINE_FILE = "pipelines/train.yml"
DVC_FILE = "dvc.yaml"
OUTPUT_DIRS = (ARTIFACTS_DIR, REPORTS_DIR, "build")
"""Where runs and releases write: swept for what an interrupted write left (ml.atomic.sweep_leftovers)."""


def repo_root(start: Path | None = None) -> Path:
    """The checkout this command works on: `$EDGE_TRAIN_ROOT`, else the nearest parent holding params.yaml.

    Searching upwards lets users run `edge-train` from any subfolder, as they would `git` or `dvc`.
    """
    override = os.environ.get("EDGE_TRAIN_ROOT")
    if override:
        return Path(override).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PARAMS_FILE).is_file():
            return candidate
    raise EdgeTrainError(
        f"no {PARAMS_FILE} in {here} or any parent folder",
        hint="run edge-train from inside a clone of the template, or set EDGE_TRAIN_ROOT",
    )
