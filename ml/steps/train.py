"""Step 2: fit the model on the training set and save it in MLflow format.

The model is a scikit-learn Pipeline chosen by the schema: missing values imputed, numbers scaled, categories
one-hot encoded (a category never seen in training scores as "none of the known ones"), then the estimator
named in params.yaml (`train.estimator`). Every choice below exports to ONNX, so the image can score without
scikit-learn. The saved model carries a signature and a synthetic input example built from the schema: MLflow
would otherwise store real rows next to the model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import typer

from ml.atomic import atomic_output_dir
from ml.console import Progress
from ml.modelio import save_mlflow_model
from ml.paths import TRAIN_FILE
from ml.stepkit import run_step
from ml.steps.schema import Schema, load_schema
from ml.steps.tables import in_batches, read_parquet
from ml.tracking import log_step

ESTIMATORS = ("linear", "forest")
"""linear: logistic regression (classifiers) or ridge regression; forest: a random forest of either kind."""


def build_model(
    schema: Schema,
    estimator: str = "linear",
    C: float = 1.0,
    max_iter: int = 500,
    solver: str = "lbfgs",
    n_estimators: int = 100,
    max_depth: int = 0,
    seed: int = 42,
):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    numeric = schema.of_kind("numeric", "boolean")
    if numeric:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    categorical = schema.of_kind("categorical")
    if categorical:  # prepare writes a missing category as "", which encodes as a category of its own
        parts.append(
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)
        )
    features = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
    return Pipeline(
        [
            ("features", features),
            ("model", _estimator(schema, estimator, C, max_iter, solver, n_estimators, max_depth, seed)),
        ]
    )


def _estimator(
    schema: Schema,
    name: str,
    C: float,
    max_iter: int,
    solver: str,
    n_estimators: int,
    max_depth: int,
    seed: int,
):
    depth = max_depth or None
    if name == "forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        kind = RandomForestClassifier if schema.is_classifier else RandomForestRegressor
        return kind(n_estimators=n_estimators, max_depth=depth, random_state=seed, n_jobs=1)
    if schema.is_classifier:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, max_iter=max_iter, solver=solver)
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0 / C)


def fit(train: pd.DataFrame, schema: Schema | None = None, **params):
    schema = schema or load_schema()
    model = build_model(schema, **params)
    model.fit(train[schema.names], train[schema.label])
    return model


def train_score(fitted, train: pd.DataFrame, schema: Schema) -> tuple[str, float]:
    """What `fitted.score` gives (accuracy, or R² for regression) from predictions made a slice at a time."""
    return _score(fitted.predict, train[schema.names], train[schema.label], schema)


def _score(predict, rows, labels, schema: Schema) -> tuple[str, float]:
    from sklearn.metrics import accuracy_score, r2_score

    predicted = in_batches(predict, rows, "train: scoring the training set")
    if schema.is_classifier:
        return "train_accuracy", float(accuracy_score(labels, predicted))
    return "train_r2", float(r2_score(labels, predicted))


LEAN_ABOVE_ROWS = 1_000_000
"""Above this many training rows (and features all numbers or booleans), `fit_from_file` fits the model:
scikit-learn's own fit holds the table three or four times over (the imputer's copy, the median's sorted
copy, the scaled copy), 1.3 GB per million rows of the example. Below it, the model is scikit-learn's fit."""


def fits_from_file(path: Path, schema: Schema) -> bool:
    import pyarrow.parquet as pq

    return not schema.of_kind("categorical") and pq.ParquetFile(path).metadata.num_rows > LEAN_ABOVE_ROWS


def fit_from_file(path: Path, schema: Schema, **params):
    """`fit` of `build_model`'s pipeline, holding the transformed matrix once and the raw rows a row group
    at a time: the imputer and scaler are fitted a column at a time (median, mean and variance are per
    column; the sums may differ from the whole-table fit in the last bits), the matrix is filled a row group
    at a time, then the estimator is fitted on it. Returns the model and its `train_score`."""
    import numpy as np
    import pyarrow.parquet as pq
    from sklearn.base import clone

    model = build_model(schema, **params)
    features, estimator = model.steps[0][1], model.steps[-1][1]
    file = pq.ParquetFile(path)
    rows = file.metadata.num_rows
    features.fit(file.read_row_group(0, columns=schema.names).to_pandas())  # its structure
    numeric = features.named_transformers_["numeric"]
    imputer, scaler = numeric.steps[0][1], numeric.steps[-1][1]
    if np.isnan(imputer.statistics_).any():  # a feature missing in every row of the first group
        train = read_parquet(path)
        fitted = fit(train, schema, **params)
        return fitted, train_score(fitted, train, schema)
    names = schema.of_kind("numeric", "boolean")
    with Progress(
        "train: fitting the features", len(names) + file.num_row_groups, unit="steps", worth=0
    ) as bar:
        for index, name in enumerate(names):
            column = file.read(columns=[name]).column(0).to_numpy().reshape(-1, 1)
            part = clone(numeric).fit(column)
            imputer.statistics_[index] = part.steps[0][1].statistics_[0]
            for key in ("mean_", "var_", "scale_"):
                getattr(scaler, key)[index] = getattr(part.steps[-1][1], key)[0]
            bar.advance(1)
        scaler.n_samples_seen_ = rows
        matrix, start = None, 0
        for group in range(file.num_row_groups):
            part = features.transform(file.read_row_group(group, columns=schema.names).to_pandas())
            if matrix is None:
                matrix = np.empty((rows, part.shape[1]))
            matrix[start : start + len(part)] = part
            start += len(part)
            bar.advance(1)
    labels = read_parquet(path, columns=[schema.label])[schema.label]
    print(f"train: fitting {params.get('estimator', 'linear')} on {rows} rows", file=sys.stderr, flush=True)
    estimator.fit(matrix, labels)
    return model, _score(estimator.predict, matrix, labels, schema)


def fitted_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def main(
    prepared: Path = typer.Option(..., help="folder with train.parquet from the prepare step"),
    model: Path = typer.Option(..., help="folder to write the MLflow model to"),
    estimator: str = typer.Option("linear", help=f"one of {', '.join(ESTIMATORS)}"),
    C: float = typer.Option(1.0, "--C", "--c"),
    max_iter: int = typer.Option(500),
    solver: str = typer.Option("lbfgs"),
    n_estimators: int = typer.Option(100),
    max_depth: int = typer.Option(0),
    seed: int = typer.Option(42),
) -> None:
    schema = load_schema()
    params = {
        "estimator": estimator,
        "C": C,
        "max_iter": max_iter,
        "solver": solver,
        "n_estimators": n_estimators,
        "max_depth": max_depth,
        "seed": seed,
    }
    path = prepared / TRAIN_FILE
    if fits_from_file(path, schema):
        fitted, (score_name, score) = fit_from_file(path, schema, **params)
    else:
        train = read_parquet(path)
        fitted = fit(train, schema, **params)
        score_name, score = train_score(fitted, train, schema)
    with atomic_output_dir(model) as out:
        save_mlflow_model(fitted, out, schema)
    log_step("train", params=params, metrics={score_name: score})
    print(
        f"train: fitted {estimator} ({schema.task}) on {fitted_rows(path)} rows "
        f"({score_name} {score:.4f}) -> {model}"
    )


if __name__ == "__main__":
    run_step(main)
