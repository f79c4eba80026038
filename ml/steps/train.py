"""Step 2: fit the model on the training set and save it in MLflow format.

The saved model carries a signature and a synthetic input example built from the schema: MLflow would
otherwise store real rows next to the model, and patient rows must never leave the premises.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from ml.atomic import atomic_output_dir
from ml.modelio import save_mlflow_model
from ml.stepkit import run_step
from ml.steps.schema import FEATURES, LABEL
from ml.tracking import log_step


def build_model(C: float, max_iter: int, solver: str):  # noqa: N803 (sklearn's name for the parameter)
    """Standardise, then a logistic regression: fast, deterministic, exportable to ONNX."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, solver=solver))


def fit(train: pd.DataFrame, C: float, max_iter: int, solver: str):  # noqa: N803
    model = build_model(C, max_iter, solver)
    model.fit(train[list(FEATURES)], train[LABEL])
    return model


def main(
    prepared: Path = typer.Option(..., help="folder with train.csv from the prepare step"),
    model: Path = typer.Option(..., help="folder to write the MLflow model to"),
    C: float = typer.Option(1.0, "--C", "--c"),  # noqa: N803
    max_iter: int = typer.Option(500),
    solver: str = typer.Option("lbfgs"),
) -> None:
    train = pd.read_csv(prepared / "train.csv")
    fitted = fit(train, C, max_iter, solver)
    train_accuracy = float(fitted.score(train[list(FEATURES)], train[LABEL]))
    with atomic_output_dir(model) as out:
        save_mlflow_model(fitted, out)
    log_step("train", params={"C": C, "max_iter": max_iter, "solver": solver},
             metrics={"train_accuracy": train_accuracy})
    print(f"train: fitted on {len(train)} rows (train accuracy {train_accuracy:.4f}) -> {model}")


if __name__ == "__main__":
    run_step(main)
