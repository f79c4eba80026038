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


def test_the_confusion_file_holds_one_count_per_pair_sorted_by_actual_then_predicted():
    rng = np.random.default_rng(0)
    actual, predicted = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    pairs = sorted(
        zip(actual.tolist(), predicted.tolist(), strict=True), key=lambda pair: tuple(map(str, pair))
    )
    expected = [
        {"actual": a, "predicted": p, "count": pairs.count((a, p))}
        for a, p in sorted(set(pairs), key=lambda pair: tuple(map(str, pair)))
    ]
    assert evaluate._confusion(actual, predicted) == expected


def test_a_long_curve_keeps_its_ends_and_at_most_the_points_a_chart_needs(monkeypatch):
    monkeypatch.setattr(evaluate, "CURVE_POINTS", 50)
    short = (np.arange(50.0), np.arange(50.0))
    assert all(kept is given for kept, given in zip(evaluate._thinned(*short), short, strict=True))
    x, y = evaluate._thinned(np.arange(10_000.0), np.arange(10_000.0) * 2)
    assert len(x) == 50 and x[0] == 0 and x[-1] == 9_999
    np.testing.assert_array_equal(y, x * 2)


@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_a_large_table_of_numbers_is_fitted_from_the_file_to_the_model_fit_gives(tmp_path, monkeypatch, task):
    """Above LEAN_ABOVE_ROWS the step fits column by column and row group by row group; the model must be
    the one scikit-learn's fit of the whole table gives, up to the last bits of a sum."""
    import dataclasses

    from ml.steps import train
    from ml.steps.tables import write_parquet

    full = SCHEMAS[task]
    schema = dataclasses.replace(full, features=tuple(f for f in full.features if f.kind != "categorical"))
    frame = typed(synthetic_frame(rows=300, seed=8, schema=full, missing=0.05), full)[
        [*schema.names, schema.label]
    ]
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 64)
    write_parquet(frame, tmp_path / "train.parquet")
    monkeypatch.setattr(train, "LEAN_ABOVE_ROWS", 100)
    assert train.fits_from_file(tmp_path / "train.parquet", schema)
    assert not train.fits_from_file(tmp_path / "train.parquet", full), "categories: scikit-learn's fit"

    lean, (name, score) = train.fit_from_file(tmp_path / "train.parquet", schema)
    whole = fit(frame, schema)
    np.testing.assert_allclose(
        model_output(lean, frame[schema.names]),
        model_output(whole, frame[schema.names]),
        rtol=1e-7,
        atol=1e-9,
    )
    whole_name, whole_score = train_score(whole, frame, schema)
    assert name == whole_name and score == pytest.approx(whole_score, rel=1e-9)
