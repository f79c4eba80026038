"""The portable model: an ONNX copy of the trained model, trusted only after it agrees with the original.

ONNX lets the image score with onnxruntime alone (no scikit-learn pickle/skops loading, any language
runtime). A converted model is shipped only when its probabilities match the native model's on the held-out
set within `PARITY_TOLERANCE`; a model skl2onnx cannot convert is reported, and the MLflow model still ships.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape

from ml import console
from ml.atomic import atomic_output_dir
from ml.errors import EdgeTrainError
from ml.paths import MODEL_DIR, PREPARED_DIR
from ml.steps.schema import FEATURES

PORTABLE_DIR = "artifacts/portable"
ONNX_FILE = "model.onnx"
PARITY_FILE = "parity.json"
PARITY_TOLERANCE = 1e-5
INPUT_NAME = "features"
"""The ONNX graph takes one float32 matrix, columns in `FEATURES` order: what any caller can build."""


@dataclass(frozen=True)
class Parity:
    rows: int
    max_abs_diff: float
    labels_equal: bool

    @property
    def ok(self) -> bool:
        return self.labels_equal and self.max_abs_diff <= PARITY_TOLERANCE


def export_onnx(root: Path, model_hash: str) -> Path | None:
    """Write artifacts/portable/model.onnx (+ parity.json) for the trained model; None when it can't be.

    Cached by the model's identity: the same trained model is never converted twice.
    """
    out = root / PORTABLE_DIR
    record = _read_record(out)
    if record.get("model_hash") == model_hash and (out / ONNX_FILE).is_file():
        if not _record_passes(record):
            console.warn(
                f"{PORTABLE_DIR}/{PARITY_FILE} records a failed parity check (max difference "
                f"{record.get('max_abs_diff')} > {PARITY_TOLERANCE:g}); the image ships the MLflow model only"
            )
            return None
        console.skipped("export ONNX", f"{PORTABLE_DIR}/{ONNX_FILE} already matches this model")
        return out / ONNX_FILE
    if not (root / PREPARED_DIR / "test.csv").is_file():  # a runner: held-out rows never leave the edge
        console.skipped(
            "export ONNX",
            f"no held-out set here ({PREPARED_DIR}/ stays where the data is) and no parity-checked "
            f"{ONNX_FILE} for this model in {PORTABLE_DIR}/; the image ships the MLflow model only",
        )
        return None
    from ml.modelio import load_native_model

    model = load_native_model(root / MODEL_DIR)
    holdout = _holdout(root)
    try:
        onnx_bytes = convert(model)
    except Exception as exc:  # skl2onnx raises many types (RuntimeError, NotImplementedError, ...)
        console.warn(
            f"the model cannot be exported to ONNX ({type(exc).__name__}: {escape(str(exc))}); "
            "the image ships the MLflow model only"
        )
        return None
    parity = check_parity(model, onnx_bytes, holdout)
    if not parity.ok:
        console.warn(
            f"the ONNX model disagrees with the native model on the held-out set (max probability "
            f"difference {parity.max_abs_diff:.2e} > {PARITY_TOLERANCE:g}, labels equal: "
            f"{parity.labels_equal}); the image ships the MLflow model only"
        )
        return None
    with atomic_output_dir(out) as tmp:
        (tmp / ONNX_FILE).write_bytes(onnx_bytes)
        (tmp / PARITY_FILE).write_text(
            json.dumps(
                {
                    "model_hash": model_hash,
                    "rows": parity.rows,
                    "max_abs_diff": parity.max_abs_diff,
                    "tolerance": PARITY_TOLERANCE,
                },
                indent=2,
            )
            + "\n"
        )
    console.done(
        f"exported {PORTABLE_DIR}/{ONNX_FILE}: probabilities match the native model on "
        f"{parity.rows} held-out rows (max difference {parity.max_abs_diff:.1e})"
    )
    return out / ONNX_FILE


def convert(model) -> bytes:
    """Convert a fitted scikit-learn estimator; probabilities as a plain tensor (no ZipMap) for speed."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    onx = to_onnx(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(FEATURES)]))],
        options={"zipmap": False},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onx.SerializeToString()


def check_parity(model, onnx_bytes: bytes, holdout) -> Parity:
    """Score the held-out rows with both models; compare labels and class probabilities."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    matrix = holdout[list(FEATURES)].to_numpy(dtype=np.float32)
    labels, probabilities = session.run(None, {INPUT_NAME: matrix})
    native_proba = model.predict_proba(holdout[list(FEATURES)])
    native_labels = model.predict(holdout[list(FEATURES)])
    return Parity(
        rows=len(holdout),
        max_abs_diff=float(np.max(np.abs(native_proba - probabilities))),
        labels_equal=bool(np.array_equal(native_labels, labels)),
    )


def _holdout(root: Path):
    import pandas as pd

    path = root / PREPARED_DIR / "test.csv"
    if not path.is_file():
        raise EdgeTrainError(f"no held-out set at {path}", hint="run `edge-train run` to prepare and train")
    return pd.read_csv(path)


def _record_passes(record: dict) -> bool:
    """A parity report (written here or by the edge's export step) that shows agreement within tolerance."""
    try:
        return int(record["rows"]) > 0 and float(record["max_abs_diff"]) <= PARITY_TOLERANCE
    except (KeyError, TypeError, ValueError):
        return False


def _read_record(out: Path) -> dict:
    try:
        return json.loads((out / PARITY_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
