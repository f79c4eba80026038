"""Step 3: score the held-out set and write metrics and plot data for DVC, MLflow and the PR report.

The metrics and plots follow the schema's task. Metrics are aggregates and plots are curves, counts and
binned summaries: none of them contains a row of the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from ml.atomic import atomic_write_json
from ml.modelio import load_native_model
from ml.paths import TEST_FILE
from ml.stepkit import run_step
from ml.steps.schema import Schema, Task, load_schema
from ml.steps.tables import in_batches, read_parquet
from ml.tracking import log_step

PLOTS: dict[Task, tuple[str, ...]] = {
    "binary": ("roc.json", "prc.json", "confusion.json"),
    "multiclass": ("roc.json", "confusion.json"),
    "regression": ("predicted_vs_actual.json", "residuals.json"),
}
"""The plot files `evaluate` writes for each task (their `dvc plots` options are tags in
components/evaluate.yml, `tasks=` says which; a test checks the two agree)."""
CURVE_POINTS = 1000
"""Points kept of a ROC or precision-recall curve: plot files stay kilobytes at any number of rows."""


def compute_metrics(schema: Schema, y_true: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    """The task's metrics; `scores` are class probabilities (columns in `schema.classes` order) or values."""
    if schema.task == "regression":
        return _regression_metrics(y_true, scores)
    if schema.task == "binary":
        return _binary_metrics(y_true == schema.classes[1], scores[:, 1], threshold)
    return _multiclass_metrics(schema, y_true, scores)


def _binary_metrics(positive: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn import metrics

    truth = positive.astype(int)
    predicted = (proba >= threshold).astype(int)
    return {
        "accuracy": float(metrics.accuracy_score(truth, predicted)),
        "precision": float(metrics.precision_score(truth, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(truth, predicted, zero_division=0)),
        "f1": float(metrics.f1_score(truth, predicted, zero_division=0)),
        "roc_auc": float(metrics.roc_auc_score(truth, proba)),
        "log_loss": float(metrics.log_loss(truth, proba, labels=[0, 1])),
    }


def _multiclass_metrics(schema: Schema, y_true: np.ndarray, proba: np.ndarray) -> dict:
    from sklearn import metrics

    classes = list(schema.classes)
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    truth = np.asarray(y_true, dtype=object)
    scores: dict = {
        "accuracy": float(metrics.accuracy_score(truth, predicted)),
        "f1_macro": float(
            metrics.f1_score(truth, predicted, average="macro", labels=classes, zero_division=0)
        ),
        "f1_weighted": float(
            metrics.f1_score(truth, predicted, average="weighted", labels=classes, zero_division=0)
        ),
        "log_loss": float(metrics.log_loss(truth, proba, labels=classes)),
    }
    if len(set(truth.tolist())) == len(classes):  # one-vs-rest AUC needs every class in the test set
        scores["roc_auc_ovr"] = float(metrics.roc_auc_score(truth, proba, multi_class="ovr", labels=classes))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        truth, predicted, labels=classes, zero_division=0
    )
    scores["per_class"] = {
        str(c): {"precision": _r(p), "recall": _r(r), "f1": _r(f), "support": int(s)}
        for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }
    return scores


def _regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    scores = {
        "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, predicted))),
        "mae": float(metrics.mean_absolute_error(y_true, predicted)),
        "r2": float(metrics.r2_score(y_true, predicted)),
    }
    if not np.any(y_true == 0):  # MAPE is undefined where the true value is 0
        scores["mape"] = float(metrics.mean_absolute_percentage_error(y_true, predicted))
    return scores


def compute_plots(schema: Schema, y_true: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    """Plot data in the row format `dvc plots` reads, one entry per file in `PLOTS[task]`."""
    if schema.task == "regression":
        return _regression_plots(y_true, scores)
    if schema.task == "binary":
        positive = (y_true == schema.classes[1]).astype(int)
        return _binary_plots(positive, scores[:, 1], threshold)
    return _multiclass_plots(schema, y_true, scores)


def _binary_plots(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, list[dict]]:
    from sklearn import metrics

    fpr, tpr, roc_thresholds = _thinned(*metrics.roc_curve(y_true, proba))
    precision, recall, prc_thresholds = metrics.precision_recall_curve(y_true, proba, drop_intermediate=True)
    precision, recall, prc_thresholds = _thinned(precision[:-1], recall[:-1], prc_thresholds)
    predicted = (proba >= threshold).astype(int)
    return {
        "roc.json": [
            {"fpr": _r(f), "tpr": _r(t), "threshold": _r(min(h, 1.0))}
            for f, t, h in zip(fpr, tpr, roc_thresholds, strict=True)
        ],
        "prc.json": [
            {"recall": _r(r), "precision": _r(p), "threshold": _r(h)}
            for p, r, h in zip(precision, recall, prc_thresholds, strict=True)
        ],
        "confusion.json": _confusion(y_true, predicted),
    }


def _multiclass_plots(schema: Schema, y_true: np.ndarray, proba: np.ndarray) -> dict[str, list[dict]]:
    """One-vs-rest ROC per class (`class` tells the curves apart) and the confusion counts."""
    from sklearn import metrics

    roc = []
    for index, value in enumerate(schema.classes):
        truth = (y_true == value).astype(int)
        if 0 < truth.sum() < len(truth):
            fpr, tpr, _ = _thinned(*metrics.roc_curve(truth, proba[:, index]))
            roc += [{"class": str(value), "fpr": _r(f), "tpr": _r(t)} for f, t in zip(fpr, tpr, strict=True)]
    predicted = np.asarray(schema.classes, dtype=object)[proba.argmax(axis=1)]
    return {"roc.json": roc, "confusion.json": _confusion(y_true, predicted)}


def _confusion(y_true: np.ndarray, predicted: np.ndarray) -> list[dict]:
    """How many test rows have each (actual, predicted) pair: a few entries, whatever the number of rows.

    DVC draws it with `confusion_counts` (.dvc/plots/), its own confusion template summing `count`.
    """
    actual_values, actual = np.unique(np.asarray(y_true), return_inverse=True)
    predicted_values, guessed = np.unique(np.asarray(predicted), return_inverse=True)
    width = len(predicted_values)
    counts = np.bincount(actual * width + guessed, minlength=len(actual_values) * width).reshape(-1, width)
    cells = [
        {"actual": a, "predicted": p, "count": int(counts[i, j])}
        for i, a in enumerate(_plain(actual_values))
        for j, p in enumerate(_plain(predicted_values))
        if counts[i, j]
    ]
    return sorted(cells, key=lambda cell: (str(cell["actual"]), str(cell["predicted"])))


def _thinned(*curve: np.ndarray) -> tuple[np.ndarray, ...]:
    """At most CURVE_POINTS points of a curve, evenly spaced along it, both ends kept.

    A curve has a point per distinct score: 200,000 at a million rows, megabytes of JSON in git and in the
    edge job's cloud outputs for a line no one can tell from this one.
    """
    length = len(curve[0])
    if length <= CURVE_POINTS:
        return curve
    keep = np.unique(np.linspace(0, length - 1, CURVE_POINTS).round().astype(int))
    return tuple(part[keep] for part in curve)


def _plain(values: np.ndarray) -> list:
    return [v.item() if hasattr(v, "item") else v for v in values]


def _regression_plots(y_true: np.ndarray, predicted: np.ndarray, bins: int = 20) -> dict[str, list[dict]]:
    """Binned, not per row: mean actual per predicted-value decile, and a histogram of the residuals."""
    order = np.argsort(predicted, kind="stable")
    groups = [g for g in np.array_split(order, min(bins, len(order))) if len(g)]
    versus = [{"predicted": _r(predicted[g].mean()), "actual": _r(y_true[g].mean())} for g in groups]
    counts, edges = np.histogram(y_true - predicted, bins=bins)
    residuals = [
        {"residual": _r((lo + hi) / 2), "count": int(c)}
        for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    return {"predicted_vs_actual.json": versus, "residuals.json": residuals}


def _r(value: float) -> float:
    return round(float(value), 6)


def main(
    prepared: Path = typer.Option(..., help="folder with test.parquet from the prepare step"),
    model: Path = typer.Option(..., help="the MLflow model folder from the train step"),
    metrics: Path = typer.Option(..., help="metrics JSON file to write"),
    plots: Path = typer.Option(..., help="folder to write plot data to"),
    threshold: float = typer.Option(0.5),
) -> None:
    from ml.modelio import model_output

    schema = load_schema()
    test = read_parquet(prepared / TEST_FILE)
    fitted = load_native_model(model)
    y_true = test[schema.label].to_numpy()
    scores = in_batches(lambda rows: model_output(fitted, rows), test[schema.names], "evaluate: scoring")
    if schema.is_classifier:  # probability columns in the schema's class order, not scikit-learn's sorted one
        known = list(fitted.classes_)
        scores = scores[:, [known.index(c) for c in schema.classes]]
    results = compute_metrics(schema, y_true, scores, threshold)
    written = compute_plots(schema, y_true, scores, threshold)
    for name, rows in written.items():
        atomic_write_json(plots / name, rows, indent=1)
    for stale in set(plots.glob("*.json")) - {plots / name for name in written}:
        stale.unlink()  # another task's plot (the task changed): DVC and the report must not show it
    atomic_write_json(metrics, results)
    flat = {k: v for k, v in results.items() if isinstance(v, float)}
    params = {"threshold": threshold} if schema.task == "binary" else {}
    log_step("evaluate", params=params, metrics=flat)
    print(
        f"evaluate ({schema.task}): " + ", ".join(f"{k} {v:.4f}" for k, v in flat.items()) + f" -> {metrics}"
    )


if __name__ == "__main__":
    run_step(main)
