"""Step 2: fit the model on the training set and save it in MLflow format.

The model is a scikit-learn Pipeline chosen by the schema: missing values imputed, numbers scaled, categories
one-hot encoded (a category never seen in training scores as "none of the known ones"), then the estimator
named in params.yaml (`train.estimator`). Every choice below exports to ONNX, so the image can score without
scikit-learn. The saved model carries a signature and a synthetic input example built from the schema: MLflow
would otherwise store real rows next to the model.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from ml.atomic import atomic_output_dir
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
    from sklearn.metrics import accuracy_score, r2_score

    predicted = in_batches(fitted.predict, train[schema.names], "train: scoring the training set")
    if schema.is_classifier:
        return "train_accuracy", float(accuracy_score(train[schema.label], predicted))
    return "train_r2", float(r2_score(train[schema.label], predicted))


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
    train = read_parquet(prepared / TRAIN_FILE)
    params = {
        "estimator": estimator,
        "C": C,
        "max_iter": max_iter,
        "solver": solver,
        "n_estimators": n_estimators,
        "max_depth": max_depth,
        "seed": seed,
    }
    fitted = fit(train, schema, **params)
    score_name, score = train_score(fitted, train, schema)
    with atomic_output_dir(model) as out:
        save_mlflow_model(fitted, out, schema)
    log_step("train", params=params, metrics={score_name: score})
    print(
        f"train: fitted {estimator} ({schema.task}) on {len(train)} rows "
        f"({score_name} {score:.4f}) -> {model}"
    )


if __name__ == "__main__":
    run_step(main)
