"""Which portable model the release ships: the export step's ONNX model, only when its parity report allows.

The pipeline's `export` stage (ml/steps/export.py) converts the model and checks it on the held-out rows
where they are: locally by DVC, on the edge in the job, whose `artifacts/portable` comes back with the model
(`submit --wait`). The release never converts and never needs a data row; it reads `parity.json`:
- passed, for these model bytes: the image ships `model.onnx` beside the MLflow model;
- not convertible: the image ships the MLflow model only, and says why;
- failed, missing, or written for another model: refused, with what to run.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.markup import escape

from ml import console
from ml.errors import EdgeTrainError
from ml.paths import ONNX_FILE, PARITY_FILE, PORTABLE_DIR
from ml.steps.export import NOT_CONVERTIBLE, PASSED

RERUN = "run `edge-train run` (or `edge-train submit --wait`): the export stage writes it for the model"


def portable_model(root: Path, model_hash: str) -> Path | None:
    """`shipped_onnx`, saying what the image ships and why."""
    onnx = shipped_onnx(root, model_hash)
    report = _read_report(root / PORTABLE_DIR / PARITY_FILE)
    if onnx is None:
        console.skipped(
            "ship the ONNX model",
            f"the model is not convertible to ONNX ({escape(str(report.get('reason')))}); MLflow model only",
        )
    else:
        console.done(
            f"ONNX model checked on the held-out set: {report.get('rows')} rows, max difference "
            f"{report.get('max_abs_diff')} (tolerance {report.get('tolerance')})"
        )
    return onnx


def shipped_onnx(root: Path, model_hash: str) -> Path | None:
    """The parity-checked ONNX model for the model whose content hash is `model_hash`, or None (not
    convertible); refuses (EdgeTrainError) a failed, missing or stale parity report. Reads files only."""
    report = _read_report(root / PORTABLE_DIR / PARITY_FILE)
    held = str(report.get("model_hash", ""))
    if held != model_hash:
        raise EdgeTrainError(
            f"{PORTABLE_DIR}/{PARITY_FILE} was written for another model ({held[:12] or 'none named'}) than "
            f"the one in artifacts/model ({model_hash[:12]})",
            hint=RERUN,
        )
    status = report.get("status")
    if status == NOT_CONVERTIBLE:
        return None
    if status != PASSED:
        raise EdgeTrainError(
            f"the ONNX model failed its parity check (max difference {report.get('max_abs_diff')} > "
            f"{report.get('tolerance')} on {report.get('rows')} held-out rows, labels equal: "
            f"{report.get('labels_equal')}); no release ships a portable model that scores differently",
            hint="fix the conversion in ml/steps/export.py (or the estimator), then run the pipeline again",
        )
    onnx = root / PORTABLE_DIR / ONNX_FILE
    if not onnx.is_file():
        raise EdgeTrainError(f"{PORTABLE_DIR}/{PARITY_FILE} says passed, but {ONNX_FILE} is not there", RERUN)
    return onnx


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgeTrainError(f"no parity report: {PORTABLE_DIR}/{PARITY_FILE} is missing", RERUN) from None
    except (OSError, ValueError):
        raise EdgeTrainError(f"{path}: not a readable parity report", hint=RERUN) from None
    if not isinstance(report, dict):
        raise EdgeTrainError(f"{path}: not a readable parity report", hint=RERUN)
    return report
