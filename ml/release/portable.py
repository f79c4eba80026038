"""The portable model: an ONNX copy of the trained model, trusted only after it agrees with the original.

ONNX lets the image score with onnxruntime alone (no scikit-learn pickle/skops loading, any language
runtime). The graph takes one input per raw column, in the schema's order (float32 for numbers and booleans,
text for categories, a missing category as ""), so it scores the rows a user's CSV has. A converted model is
shipped only when its outputs (class probabilities, or predicted values) match the native model's on the
held-out set within `PARITY_TOLERANCE`; a model skl2onnx cannot convert is reported, and the MLflow
model still ships.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape

from ml import console
from ml.atomic import atomic_output_dir
from ml.errors import EdgeTrainError
from ml.paths import MODEL_DIR, PREPARED_DIR, TEST_FILE
from ml.steps.schema import Schema, load_schema

PORTABLE_DIR = "artifacts/portable"
ONNX_FILE = "model.onnx"
PARITY_FILE = "parity.json"
PARITY_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Parity:
    rows: int
    max_abs_diff: float
    """Classifiers: the largest probability difference; regressors: relative to the value (floor 1)."""
    labels_equal: bool
    """Classifiers: same predicted class on every row whose top two probabilities are not tied."""

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
    if not (root / PREPARED_DIR / TEST_FILE).is_file():  # a runner: held-out rows never leave the edge
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
        onnx_bytes = convert(model, load_schema())
    except Exception as exc:  # skl2onnx raises many types (RuntimeError, NotImplementedError, ...)
        console.warn(
            f"the model cannot be exported to ONNX ({type(exc).__name__}: {escape(str(exc))}); "
            "the image ships the MLflow model only"
        )
        return None
    parity = check_parity(model, onnx_bytes, holdout, load_schema())
    if not parity.ok:
        console.warn(
            f"the ONNX model disagrees with the native model on the held-out set (max output "
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
        f"exported {PORTABLE_DIR}/{ONNX_FILE}: outputs match the native model on "
        f"{parity.rows} held-out rows (max difference {parity.max_abs_diff:.1e})"
    )
    return out / ONNX_FILE


def convert(model, schema: Schema) -> bytes:
    """Convert a fitted scikit-learn pipeline; probabilities as a plain tensor (no ZipMap) for speed."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    inputs = [
        (f.name, StringTensorType([None, 1]) if f.kind == "categorical" else FloatTensorType([None, 1]))
        for f in schema.features
    ]
    onx = to_onnx(
        model,
        initial_types=inputs,
        options={id(model): {"zipmap": False}} if schema.is_classifier else None,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onx.SerializeToString()


def onnx_feed(session, frame, schema: Schema) -> dict:
    """The session's inputs from a frame of raw columns; ONNX names are positional (skl2onnx renames them)."""
    import numpy as np

    feed = {}
    for spec, feature in zip(session.get_inputs(), schema.features, strict=True):
        column = frame[[feature.name]]
        if feature.kind == "categorical":
            feed[spec.name] = column.fillna("").astype(str).to_numpy(dtype=object)
        else:
            feed[spec.name] = column.astype("float64").to_numpy(dtype=np.float32)
    return feed


def check_parity(model, onnx_bytes: bytes, holdout, schema: Schema) -> Parity:
    """Score the held-out rows with both models; compare outputs (and, for classifiers, labels)."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    outputs = session.run(None, onnx_feed(session, holdout, schema))
    features = holdout[schema.names]
    if not schema.is_classifier:
        # The ONNX ML operators compute in float32 (~7 significant digits), so a predicted 1,000.0 cannot
        # match to 1e-5 in absolute terms: a regressor's difference is relative to the value (floor 1).
        native = model.predict(features)
        scale = np.maximum(1.0, np.abs(native))
        diff = float(np.max(np.abs(native - outputs[0].ravel()) / scale)) if len(native) else 0.0
        return Parity(rows=len(holdout), max_abs_diff=diff, labels_equal=True)
    labels, probabilities = outputs
    native_proba = model.predict_proba(features)
    native_labels = model.predict(features)
    top_two = np.sort(native_proba, axis=1)[:, -2:]
    decided = (top_two[:, 1] - top_two[:, 0]) > PARITY_TOLERANCE
    return Parity(
        rows=len(holdout),
        max_abs_diff=float(np.max(np.abs(native_proba - probabilities))),
        labels_equal=bool(np.array_equal(np.asarray(native_labels)[decided], np.asarray(labels)[decided])),
    )


def _holdout(root: Path):
    import pandas as pd

    path = root / PREPARED_DIR / TEST_FILE
    if not path.is_file():
        raise EdgeTrainError(f"no held-out set at {path}", hint="run `edge-train run` to prepare and train")
    return pd.read_parquet(path)


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
