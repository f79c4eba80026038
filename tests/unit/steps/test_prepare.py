"""prepare rejects data that does not fit ml/steps/schema.yaml, naming the file and the problem.

The data is synthetic rows of a schema with every feature kind, so these hold for any fork's schema.
"""

import re
from pathlib import Path

import pandas as pd
import pytest

from ml.data.synthetic import synthetic_frame
from ml.errors import EdgeTrainError
from ml.steps.prepare import check_schema, read_raw, split
from tests.harness.schemas import SCHEMAS

SCHEMA = SCHEMAS["binary"]
NUMERIC = SCHEMA.of_kind("numeric")[0]
CATEGORICAL = SCHEMA.of_kind("categorical")[0]
LABEL = SCHEMA.label
SECRET = "SECRET-CELL-4711"
"""A cell's content that no message may repeat: step errors reach cloud job logs, raw data must not."""


@pytest.fixture(scope="module")
def good_frame() -> pd.DataFrame:
    return synthetic_frame(rows=40, seed=1, schema=SCHEMA, missing=0.0)


def write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "raw.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_file_that_fits_the_schema_loads_with_features_then_label(tmp_path, good_frame):
    loaded = check_schema(write(tmp_path, good_frame), SCHEMA)
    assert list(loaded.columns) == [*SCHEMA.names, LABEL]
    assert len(loaded) == 40


def test_extra_columns_are_ignored_and_order_does_not_matter(tmp_path, good_frame):
    frame = good_frame.iloc[:, ::-1].assign(patient_id=range(40))
    loaded = check_schema(write(tmp_path, frame), SCHEMA)
    assert list(loaded.columns) == [*SCHEMA.names, LABEL]


def test_a_missing_column_is_named(tmp_path, good_frame):
    path = write(tmp_path, good_frame.drop(columns=[NUMERIC]))
    with pytest.raises(EdgeTrainError, match=rf"raw\.csv: missing column\(s\): '{NUMERIC}'"):
        check_schema(path, SCHEMA)


def test_a_text_value_in_a_numeric_column_is_located_and_counted_never_quoted(tmp_path, good_frame):
    frame = good_frame.astype({NUMERIC: "object"})
    frame.loc[[3, 9], NUMERIC] = SECRET
    with pytest.raises(
        EdgeTrainError,
        match=rf"raw\.csv: column '{NUMERIC}' must be numeric: 2 cell\(s\) are not \(lines 5, 11\)",
    ) as error:
        check_schema(write(tmp_path, frame), SCHEMA)
    assert SECRET not in str(error.value)


def test_missing_feature_values_are_kept_for_the_model_to_impute(tmp_path, good_frame):
    frame = good_frame.copy()
    frame.loc[4, NUMERIC] = float("nan")
    frame.loc[5, CATEGORICAL] = None
    loaded = check_schema(write(tmp_path, frame), SCHEMA)
    assert pd.isna(loaded.loc[4, NUMERIC])
    assert loaded.loc[5, CATEGORICAL] == ""  # a missing category is a category of its own


def test_a_numeric_looking_category_stays_text(tmp_path, good_frame):
    frame = good_frame.copy()
    frame[CATEGORICAL] = "007"
    assert set(check_schema(write(tmp_path, frame), SCHEMA)[CATEGORICAL]) == {"007"}


def test_missing_labels_are_counted_and_located(tmp_path, good_frame):
    frame = good_frame.astype({LABEL: "float64"})
    frame.loc[[0, 5], LABEL] = float("nan")
    with pytest.raises(
        EdgeTrainError, match=rf"raw\.csv: 2 missing value\(s\) in label '{LABEL}' \(lines 2, 7\)"
    ):
        check_schema(write(tmp_path, frame), SCHEMA)


def test_an_unexpected_label_is_located_never_quoted(tmp_path, good_frame):
    frame = good_frame.astype({LABEL: "object"})
    frame.loc[0, LABEL] = SECRET
    with pytest.raises(
        EdgeTrainError,
        match=rf"label '{LABEL}' is not one of the schema's classes \[0, 1\] in 1 row\(s\) \(line 2\)",
    ) as error:
        check_schema(write(tmp_path, frame), SCHEMA)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("stored_as", ["int64", "float64", "object"])
def test_integer_classes_are_read_the_same_whether_the_labels_arrive_as_numbers_or_as_text(
    good_frame, stored_as
):
    """Arrow reads a label column of integers as numbers, one with `1.0` as floats, a messy one as text:
    the class of each row, and the rows named when a label is not a class, must not depend on which."""
    from ml.steps.tables import typed

    classes = list(SCHEMA.classes)
    frame = good_frame.head(4).copy()
    labels = pd.Series([classes[0], classes[1], classes[1], classes[0]], dtype="int64")
    frame[LABEL] = labels.astype(stored_as)
    assert typed(frame, SCHEMA)[LABEL].tolist() == frame[LABEL].astype("int64").tolist()
    assert typed(frame, SCHEMA)[LABEL].dtype == "int64"
    frame[LABEL] = pd.Series([classes[0], 0.5, max(classes) + 1, classes[1]]).astype(
        "float64" if stored_as != "object" else "object"
    )
    with pytest.raises(EdgeTrainError, match=r"in 2 row\(s\) \(lines 3, 4\)"):
        typed(frame, SCHEMA)


def test_an_empty_file_is_named(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("")
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: the file is empty"):
        check_schema(path, SCHEMA)


def test_a_header_without_rows_is_named(tmp_path, good_frame):
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: the file has a header but no rows"):
        check_schema(write(tmp_path, good_frame.head(0)), SCHEMA)


def test_a_folder_without_data_files_says_how_to_restore_the_data(tmp_path):
    with pytest.raises(EdgeTrainError, match=r"no \.csv or \.parquet files") as error:
        read_raw(tmp_path, SCHEMA)
    assert "dvc pull" in error.value.hint


def test_the_split_is_stratified_and_the_same_for_the_same_seed(good_frame):
    train_a, test_a = split(good_frame, test_size=0.25, seed=3, schema=SCHEMA)
    train_b, test_b = split(good_frame, test_size=0.25, seed=3, schema=SCHEMA)
    assert len(test_a) == 10
    assert test_a[LABEL].value_counts().min() >= 4  # both classes held out in proportion
    pd.testing.assert_frame_equal(test_a, test_b)
    pd.testing.assert_frame_equal(train_a, train_b)


def test_a_regression_label_is_a_number_and_the_split_is_not_stratified(tmp_path):
    schema = SCHEMAS["regression"]
    frame = synthetic_frame(rows=30, seed=2, schema=schema)
    loaded = check_schema(write(tmp_path, frame), schema)
    assert loaded[schema.label].dtype == "float64"
    train, test = split(loaded, 0.2, 1, schema)
    assert len(train) + len(test) == 30


def test_a_truncated_file_is_called_truncated_with_its_last_line(tmp_path, good_frame):
    path = write(tmp_path, good_frame)
    text = path.read_bytes()
    path.write_bytes(text[: text.rindex(b",", 0, len(text) - 1)])  # cut inside the last row
    with pytest.raises(
        EdgeTrainError, match=r"raw\.csv: the file looks truncated: its last line \(41\)"
    ) as error:
        check_schema(path, SCHEMA)
    assert "dvc checkout" in error.value.hint


def test_a_row_with_an_extra_column_is_located(tmp_path, good_frame):
    path = write(tmp_path, good_frame)
    lines = path.read_text().splitlines(keepends=True)
    lines[6] = lines[6].rstrip("\n") + f",{SECRET}\n"
    path.write_text("".join(lines))
    with pytest.raises(
        EdgeTrainError, match=r"1 line\(s\) do not have the header's 6 columns \(line 7\)"
    ) as error:
        check_schema(path, SCHEMA)
    assert SECRET not in str(error.value)


def test_a_byte_that_is_not_utf8_is_located_by_line(tmp_path, good_frame):
    path = write(tmp_path, good_frame)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[30] = lines[30].replace(b",", b",\xff", 1)
    path.write_bytes(b"".join(lines))
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: not UTF-8 text \(first at line 31\)") as error:
        check_schema(path, SCHEMA)
    assert "iconv" in error.value.hint


def test_an_infinite_feature_value_is_located(tmp_path, good_frame):
    frame = good_frame.copy()
    frame.loc[2, NUMERIC] = float("inf")
    with pytest.raises(EdgeTrainError, match=rf"column '{NUMERIC}' has 1 infinite value\(s\) \(line 4\)"):
        check_schema(write(tmp_path, frame), SCHEMA)


def test_a_label_with_one_class_has_nothing_to_learn(tmp_path, good_frame):
    write(tmp_path, good_frame.assign(**{LABEL: SCHEMA.classes[0]}))
    with pytest.raises(EdgeTrainError, match=rf"label '{LABEL}' has a single class \(0\) in all 40 rows"):
        read_raw(tmp_path, SCHEMA)


def test_a_declared_class_without_rows_is_named(tmp_path):
    schema = SCHEMAS["multiclass"]
    frame = synthetic_frame(rows=30, seed=4, schema=schema)
    frame = frame[frame[schema.label] != schema.classes[2]]
    frame.to_csv(tmp_path / "raw.csv", index=False)
    with pytest.raises(EdgeTrainError, match=rf"no rows of class\(es\) \['{schema.classes[2]}'\]") as error:
        read_raw(tmp_path, schema)
    assert "schema.yaml" in error.value.hint


def test_files_in_subfolders_are_read_and_files_not_read_are_named(tmp_path, good_frame, capsys):
    (tmp_path / "2025" / "march").mkdir(parents=True)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    good_frame.head(10).to_csv(tmp_path / "a.csv", index=False)
    good_frame.tail(30).to_csv(tmp_path / "2025" / "march" / "b.CSV", index=False)
    good_frame.to_csv(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.csv", index=False)
    (tmp_path / "notes.xlsx").write_bytes(b"not read")
    (tmp_path / ".DS_Store").write_bytes(b"not data")
    frame = read_raw(tmp_path, SCHEMA)
    assert len(frame) == 40
    warning = capsys.readouterr().err
    assert "2 file(s) not read (.ipynb_checkpoints/a-checkpoint.csv, notes.xlsx)" in warning
    assert ".DS_Store" not in warning


def test_a_constant_or_empty_feature_is_trained_on_with_a_warning(tmp_path, good_frame, capsys):
    other = SCHEMA.of_kind("numeric")[1]
    write(tmp_path, good_frame.assign(**{NUMERIC: float("nan"), other: 3.0, CATEGORICAL: None}))
    assert len(read_raw(tmp_path, SCHEMA)) == 40
    warning = capsys.readouterr().err
    assert f"feature '{NUMERIC}' is missing in every row" in warning
    assert f"feature '{other}' is the same in every row" in warning
    assert f"feature '{CATEGORICAL}' is missing in every row" in warning


def test_a_damaged_parquet_file_is_named_without_arrows_details(tmp_path, good_frame):
    path = tmp_path / "raw.parquet"
    good_frame.to_parquet(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(EdgeTrainError) as error:
        check_schema(path, SCHEMA)
    assert re.search(r"raw\.parquet: not a readable Parquet file \([^:]*\)$", error.value.message)


def test_a_stray_quote_that_swallows_the_file_is_one_message(tmp_path, good_frame):
    path = write(tmp_path, pd.concat([good_frame] * 400, ignore_index=True))
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace(",", ',"', 1)  # a quote opened and never closed
    path.write_text("".join(lines))
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: ") as error:
        check_schema(path, SCHEMA)
    assert SECRET not in error.value.message and "\n" not in error.value.message


def prepared_bytes(raw: Path, out: Path) -> dict[str, bytes]:
    from ml.console import Progress
    from ml.steps.prepare import held_out_rows, scan, write_split
    from ml.steps.tables import RowSpool

    out.mkdir()
    with RowSpool() as rows:
        labels = scan(raw, SCHEMA, keep=rows)
        write_split(rows, held_out_rows(labels, 0.25, 3, SCHEMA), out, Progress("prepare", 0))
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_the_prepared_files_are_the_whole_tables_bytes_however_the_raw_rows_are_batched(
    tmp_path, monkeypatch
):
    """The step streams: it reads raw rows a block at a time and writes row groups as they fill. The files
    must still be the bytes of the whole train and test tables written at once, so DVC sees the same hash."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ml.steps import tables

    raw = tmp_path / "raw"
    raw.mkdir()
    frame = synthetic_frame(rows=600, seed=6, schema=SCHEMA)
    frame.iloc[:250].to_csv(raw / "a.csv", index=False)
    frame.iloc[250:].to_csv(raw / "b.csv", index=False)
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 128)
    monkeypatch.setattr(tables, "CSV_BLOCK_BYTES", 4096)
    monkeypatch.setattr(tables, "BATCH_ROWS", 16)
    small = prepared_bytes(raw, tmp_path / "small-blocks")
    monkeypatch.setattr(tables, "CSV_BLOCK_BYTES", 1 << 20)
    monkeypatch.setattr(tables, "BATCH_ROWS", 1 << 20)
    whole = prepared_bytes(raw, tmp_path / "one-block")
    assert small == whole

    train, test = split(read_raw(raw, SCHEMA), 0.25, 3, SCHEMA)
    for name, rows in (("train.parquet", train), ("test.parquet", test)):
        table = pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False)
        at_once = tmp_path / name
        pq.write_table(table, at_once, row_group_size=128, **tables.parquet_settings(table.schema))
        assert whole[name] == at_once.read_bytes()
        assert pq.ParquetFile(at_once).num_row_groups > 1
