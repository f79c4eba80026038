"""The floor: the pipeline's work as one plain script, the way a careful engineer writes it without this
template (no DVC, no MLflow, no CLI, no schema checks, no atomic writes, one process).

Read the CSV files, split, fit, evaluate, save the model and its portable ONNX copy checked against it on
the held-out rows (the pattern's model is portable: the pipeline's `export` stage does the same): the same
data, split, model and hyperparameters as the pipeline, so that `bench_floor` measures what the machinery
costs on top of the work itself. It is deliberately standalone: it imports nothing from `ml`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import skops.io
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder of CSV files")
    parser.add_argument("--label", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--solver", default="lbfgs")
    args = parser.parse_args()

    frame = pd.concat(
        [pd.read_csv(path, engine="pyarrow") for path in sorted(args.data.glob("*.csv"))], ignore_index=True
    )
    features = frame.drop(columns=[args.label])
    label = frame[args.label]
    x_train, x_test, y_train, y_test = train_test_split(
        features, label, test_size=args.test_size, random_state=args.seed, stratify=label
    )
    features_step = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             make_column_selector(dtype_include="number")),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             make_column_selector(dtype_exclude="number")),
        ],
        sparse_threshold=0.0,
    )  # fmt: skip
    model = make_pipeline(
        features_step, LogisticRegression(C=args.C, max_iter=args.max_iter, solver=args.solver)
    )
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    metrics = {
        "accuracy": accuracy_score(y_test, predicted),
        "f1": f1_score(y_test, predicted, pos_label=model.classes_[1]),
        "roc_auc": roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]),
    }
    numeric = set(features.select_dtypes("number").columns)
    inputs = [
        (c, FloatTensorType([None, 1]) if c in numeric else StringTensorType([None, 1])) for c in features
    ]
    onx = to_onnx(model, initial_types=inputs, options={id(model): {"zipmap": False}}, target_opset=17)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {  # skl2onnx renames the inputs (no spaces): they are in the columns' order
        spec.name: x_test[[c]].to_numpy(np.float32)
        if c in numeric
        else x_test[[c]].fillna("").astype(str).to_numpy()
        for spec, c in zip(session.get_inputs(), features, strict=True)
    }
    onnx_probabilities = session.run(None, feed)[1]
    metrics["onnx_max_abs_diff"] = float(np.abs(onnx_probabilities - model.predict_proba(x_test)).max())
    args.out.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, args.out / "model.skops")
    (args.out / "model.onnx").write_bytes(onx.SerializeToString())
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
