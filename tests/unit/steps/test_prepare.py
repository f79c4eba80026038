"""prepare rejects data that does not fit ml/steps/schema.yaml, naming the file and the problem.

The data is synthetic rows of a schema with every feature kind, so these hold for any fork's schema.
"""

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


def test_a_text_value_in_a_numeric_column_is_named_with_the_value_and_line(tmp_path, good_frame):
    frame = good_frame.astype({NUMERIC: "object"})
    frame.loc[3, NUMERIC] = "large"
    with pytest.raises(
        EdgeTrainError, match=rf"raw\.csv: column '{NUMERIC}' must be numeric, found 'large' \(line 5\)"
    ):
        check_schema(write(tmp_path, frame), SCHEMA)


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
        EdgeTrainError, match=rf"raw\.csv: 2 missing value\(s\) in label '{LABEL}' \(lines \[2, 7\]\)"
    ):
        check_schema(write(tmp_path, frame), SCHEMA)


def test_an_unexpected_label_value_is_named(tmp_path, good_frame):
    frame = good_frame.copy()
    frame.loc[0, LABEL] = 7
    with pytest.raises(EdgeTrainError, match=rf"label '{LABEL}' has 1 unexpected value\(s\), e.g. \['7'\]"):
        check_schema(write(tmp_path, frame), SCHEMA)


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
