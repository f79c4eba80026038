"""prepare rejects data that does not fit ml/steps/schema.py, naming the file and the problem."""

from pathlib import Path

import pandas as pd
import pytest

from ml.data.synthetic import synthetic_frame
from ml.errors import EdgeTrainError
from ml.steps.prepare import check_schema, read_raw, split
from ml.steps.schema import FEATURES, LABEL


@pytest.fixture(scope="module")
def good_frame() -> pd.DataFrame:
    return synthetic_frame(rows=40, seed=1)


def write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "raw.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_file_that_fits_the_schema_loads_with_features_then_label(tmp_path, good_frame):
    loaded = check_schema(write(tmp_path, good_frame))
    assert list(loaded.columns) == [*FEATURES, LABEL]
    assert len(loaded) == 40


def test_a_missing_column_is_named(tmp_path, good_frame):
    path = write(tmp_path, good_frame.drop(columns=["mean radius"]))
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: missing column\(s\): 'mean radius'"):
        check_schema(path)


def test_a_text_value_in_a_numeric_column_is_named_with_the_value(tmp_path, good_frame):
    frame = good_frame.astype({"mean area": "object"})
    frame.loc[3, "mean area"] = "large"
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: column 'mean area' must be numeric.*'large'"):
        check_schema(write(tmp_path, frame))


def test_missing_feature_values_are_counted_and_located(tmp_path, good_frame):
    frame = good_frame.copy()
    frame.loc[4, "worst area"] = float("nan")
    with pytest.raises(
        EdgeTrainError, match=r"raw\.csv: column 'worst area' has 1 missing value\(s\) \(lines \[6\]\)"
    ):
        check_schema(write(tmp_path, frame))


def test_nan_labels_are_counted_and_located(tmp_path, good_frame):
    frame = good_frame.astype({LABEL: "float64"})
    frame.loc[[0, 5], LABEL] = float("nan")
    with pytest.raises(
        EdgeTrainError, match=r"raw\.csv: 2 NaN value\(s\) in label 'malignant' \(lines \[2, 7\]\)"
    ):
        check_schema(write(tmp_path, frame))


def test_an_unexpected_label_value_is_named(tmp_path, good_frame):
    frame = good_frame.copy()
    frame.loc[0, LABEL] = 7
    with pytest.raises(EdgeTrainError, match=r"label 'malignant' has values \[7\]"):
        check_schema(write(tmp_path, frame))


def test_an_empty_file_is_named(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("")
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: the file is empty"):
        check_schema(path)


def test_a_header_without_rows_is_named(tmp_path, good_frame):
    with pytest.raises(EdgeTrainError, match=r"raw\.csv: the file has a header but no rows"):
        check_schema(write(tmp_path, good_frame.head(0)))


def test_a_folder_without_csv_files_says_how_to_restore_the_data(tmp_path):
    with pytest.raises(EdgeTrainError, match=r"no \.csv files") as error:
        read_raw(tmp_path)
    assert "dvc pull" in error.value.hint


def test_the_split_is_stratified_and_the_same_for_the_same_seed(good_frame):
    train_a, test_a = split(good_frame, test_size=0.25, seed=3)
    train_b, test_b = split(good_frame, test_size=0.25, seed=3)
    assert len(test_a) == 10
    pd.testing.assert_frame_equal(test_a, test_b)
    pd.testing.assert_frame_equal(train_a, train_b)
