"""Step 4: the portable model, an ONNX copy of the trained model, checked against it on the held-out set.

ONNX lets the image score with onnxruntime alone (no scikit-learn pickle/skops loading, any language runtime).
The graph takes one input per raw column, in the schema's order (float32 for numbers and booleans, text for
categories, a missing category as ""), so it scores the rows a user's CSV has.

The step runs where the held-out rows are (on the edge, next to the data), so only its outputs travel:
`model.onnx`, written only when its outputs match the native model's within `PARITY_TOLERANCE`, and
`parity.json`, the verdict in counts and one difference, never a value of the data. A model skl2onnx cannot
convert is not a failure: the report says why, and the release ships the MLflow model only. A fork whose
estimator has no skl2onnx converter registers one in `convert` (skl2onnx's `update_registered_converter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from ml.atomic import atomic_output_dir
from ml.contenthash import content_hash
from ml.paths import ONNX_FILE, PARITY_FILE, TEST_FILE
from ml.stepkit import run_step
from ml.steps.schema import Schema, load_schema
from ml.steps.tables import read_parquet

PARITY_TOLERANCE = 1e-5
PASSED, FAILED, NOT_CONVERTIBLE = "passed", "failed", "not convertible"
"""The verdicts `parity.json` records in `status` (the release reads them)."""


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
    # skl2onnx lists the opsets from a set, whose order follows the process's string hash seed: two runs
    # could give two files (two DVC hashes, a "new" portable model). Sorted, the bytes follow the model.
    opsets = sorted((o.domain, o.version) for o in onx.opset_import)
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
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


def export(model_dir: Path, holdout, schema: Schema) -> tuple[dict, bytes | None]:
    """The parity report for the model in `model_dir`, and the ONNX bytes when they may ship."""
    from ml.modelio import load_native_model

    model = load_native_model(model_dir)
    report: dict = {"model_hash": content_hash(model_dir)}  # which model the verdict is about
    try:
        onnx_bytes = convert(model, schema)
    except Exception as exc:  # skl2onnx raises many types (RuntimeError, NotImplementedError, ...)
        why = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return {**report, "status": NOT_CONVERTIBLE, "reason": why}, None
    parity = check_parity(model, onnx_bytes, holdout, schema)
    report.update(
        status=PASSED if parity.ok else FAILED,
        rows=parity.rows,
        # Two significant digits: the verdict needs no more, and the last bits of float32 kernels may
        # differ between CPUs, which would change the report's bytes (and dvc.lock) for the same model.
        max_abs_diff=float(f"{parity.max_abs_diff:.1e}"),
        tolerance=PARITY_TOLERANCE,
        labels_equal=parity.labels_equal,
    )
    return report, onnx_bytes if parity.ok else None


def main(
    prepared: Path = typer.Option(..., help="folder with test.parquet from the prepare step"),
    model: Path = typer.Option(..., help="the MLflow model folder from the train step"),
    portable: Path = typer.Option(..., help="folder to write model.onnx and parity.json to"),
) -> None:
    import json

    schema = load_schema()
    report, onnx_bytes = export(model, read_parquet(prepared / TEST_FILE), schema)
    with atomic_output_dir(portable) as tmp:
        (tmp / PARITY_FILE).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        if onnx_bytes is not None:
            (tmp / ONNX_FILE).write_bytes(onnx_bytes)
    if report["status"] == NOT_CONVERTIBLE:
        print(f"export: not convertible to ONNX ({report['reason']}); the release ships the MLflow model")
        return
    print(
        f"export: parity {report['status']} on {report['rows']} held-out rows (max difference "
        f"{report['max_abs_diff']:.1e}, tolerance {PARITY_TOLERANCE:g}, "
        f"labels equal: {report['labels_equal']})"
        + (f" -> {portable / ONNX_FILE}" if onnx_bytes is not None else "")
    )


if __name__ == "__main__":
    run_step(main)
