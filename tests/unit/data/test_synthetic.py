"""Synthetic data of any schema: a large file is written a chunk at a time and reads back by the schema."""

import pytest

from ml.data import synthetic
from ml.steps.prepare import read_raw
from tests.harness.schemas import SCHEMAS


@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_a_file_written_in_chunks_fits_the_schema_with_every_class_in_each(tmp_path, monkeypatch, task):
    schema = SCHEMAS[task]
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 50)
    (tmp_path / "raw").mkdir()
    synthetic.write_synthetic_csv(tmp_path / "raw" / "data.csv", 120, seed=3, schema=schema)
    frame = read_raw(tmp_path / "raw", schema)
    assert len(frame) == 120
    if schema.is_classifier:
        for start in (0, 50, 100):
            assert set(frame[schema.label].iloc[start : start + 20]) == set(schema.classes)


def test_the_chunks_are_different_rows_labelled_by_one_rule():
    schema = SCHEMAS["binary"]
    first, second = (synthetic.synthetic_frame(200, seed=1, schema=schema, chunk=k) for k in (0, 1))
    numeric = schema.of_kind("numeric")[0]
    assert not first[numeric].equals(second[numeric])
    assert synthetic.synthetic_frame(200, seed=1, schema=schema, chunk=1).equals(second)
