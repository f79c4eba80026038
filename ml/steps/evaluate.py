"""Step 3: score the held-out set and write metrics and plot data for DVC, MLflow and the PR report.

Metrics are aggregates and plots are curves: neither contains a row of the data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from ml.atomic import atomic_write_text
from ml.modelio import load_native_model
from ml.stepkit import run_step
from ml.steps.schema import FEATURES, LABEL
from ml.tracking import log_step


def compute_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn import metrics

    predicted = (proba >= threshold).astype(int)
    return {
        "accuracy": float(metrics.accuracy_score(y_true, predicted)),
        "precision": float(metrics.precision_score(y_true, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, predicted, zero_division=0)),
        "f1": float(metrics.f1_score(y_true, predicted, zero_division=0)),
        "roc_auc": float(metrics.roc_auc_score(y_true, proba)),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=[0, 1])),
    }


def compute_plots(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, list[dict]]:
    """ROC, precision-recall and confusion data in the row format `dvc plots` reads."""
    from sklearn import metrics

    fpr, tpr, roc_thresholds = metrics.roc_curve(y_true, proba)
    precision, recall, prc_thresholds = metrics.precision_recall_curve(y_true, proba)
    predicted = (proba >= threshold).astype(int)
    return {
        "roc": [
            {"fpr": _r(f), "tpr": _r(t), "threshold": _r(min(h, 1.0))}
            for f, t, h in zip(fpr, tpr, roc_thresholds, strict=True)
        ],
        "prc": [
            {"recall": _r(r), "precision": _r(p), "threshold": _r(h)}
            for p, r, h in zip(precision[:-1], recall[:-1], prc_thresholds, strict=True)
        ],
        # Sorted, so the file holds the confusion counts and nothing that maps a label back to a patient.
        "confusion": [
            {"actual": a, "predicted": p}
            for a, p in sorted(zip(y_true.tolist(), predicted.tolist(), strict=True))
        ],
    }


def _r(value: float) -> float:
    return round(float(value), 6)


def main(
    prepared: Path = typer.Option(..., help="folder with test.csv from the prepare step"),
    model: Path = typer.Option(..., help="the MLflow model folder from the train step"),
    metrics: Path = typer.Option(..., help="metrics JSON file to write"),
    plots: Path = typer.Option(..., help="folder to write plot data to"),
    threshold: float = typer.Option(0.5),
) -> None:
    test = pd.read_csv(prepared / "test.csv")
    fitted = load_native_model(model)
    y_true = test[LABEL].to_numpy()
    proba = fitted.predict_proba(test[list(FEATURES)])[:, 1]
    scores = compute_metrics(y_true, proba, threshold)
    for name, rows in compute_plots(y_true, proba, threshold).items():
        atomic_write_text(plots / f"{name}.json", json.dumps(rows, indent=1) + "\n")
    atomic_write_text(metrics, json.dumps(scores, indent=2, sort_keys=True) + "\n")
    log_step("evaluate", params={"threshold": threshold}, metrics=scores)
    print("evaluate: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()) + f" -> {metrics}")


if __name__ == "__main__":
    run_step(main)
