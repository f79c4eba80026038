"""The floor: the pipeline's work as one plain script, the way a careful engineer writes it without this
template (no DVC, no MLflow, no CLI, no schema checks, no atomic writes, one process).

Read the CSV files, split, fit, evaluate, save the model: the same data, split, model and hyperparameters
as the pipeline, so that `bench_floor` measures what the machinery costs on top of the work itself.
It is deliberately standalone: it imports nothing from `ml`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import skops.io
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
    args.out.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, args.out / "model.skops")
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
