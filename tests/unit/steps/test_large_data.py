"""What lets the steps run on tables memory cannot hold several times over: scoring a slice of rows at a
time, and plot files that do not grow with every row. Each gives the answer of the whole table at once."""

import numpy as np
import pytest

from ml.data.synthetic import synthetic_frame
from ml.modelio import model_output
from ml.steps import evaluate, tables
from ml.steps.tables import in_batches, typed
from ml.steps.train import fit, train_score
from tests.harness.schemas import SCHEMAS


@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_scoring_in_slices_gives_what_scoring_at_once_gives(monkeypatch, task):
    schema = SCHEMAS[task]
    frame = typed(synthetic_frame(rows=150, seed=4, schema=schema, missing=0.05), schema)
    fitted = fit(frame, schema)
    monkeypatch.setattr(tables, "SCORE_BATCH_ROWS", 7)
    sliced = in_batches(lambda rows: model_output(fitted, rows), frame[schema.names], "scoring")
    np.testing.assert_allclose(sliced, model_output(fitted, frame[schema.names]), rtol=1e-12, atol=0)
    name, score = train_score(fitted, frame, schema)
    assert name == ("train_accuracy" if schema.is_classifier else "train_r2")
    assert score == pytest.approx(fitted.score(frame[schema.names], frame[schema.label]), rel=1e-12)


def test_the_confusion_rows_are_one_per_row_sorted_by_actual_then_predicted():
    rng = np.random.default_rng(0)
    actual, predicted = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    expected = [
        {"actual": int(a), "predicted": int(p)}
        for a, p in sorted(zip(actual, predicted, strict=True), key=lambda pair: tuple(map(str, pair)))
    ]
    assert evaluate._confusion(actual, predicted) == expected


def test_a_long_curve_keeps_its_ends_and_at_most_the_points_a_chart_needs(monkeypatch):
    monkeypatch.setattr(evaluate, "MAX_CURVE_POINTS", 50)
    short = (np.arange(50.0), np.arange(50.0))
    assert all(kept is given for kept, given in zip(evaluate._thin(*short), short, strict=True))
    x, y = evaluate._thin(np.arange(10_000.0), np.arange(10_000.0) * 2)
    assert len(x) == 50 and x[0] == 0 and x[-1] == 9_999
    np.testing.assert_array_equal(y, x * 2)
