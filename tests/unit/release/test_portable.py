"""The ONNX export ships only a model that agrees with the native one, and never blocks the release.

Every task and estimator, with numeric, boolean and categorical features and missing values: the portable
model takes the raw columns a user's CSV has.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.data.synthetic import synthetic_frame
from ml.modelio import save_mlflow_model
from ml.paths import MODEL_DIR, PREPARED_DIR, TEST_FILE
from ml.release.portable import ONNX_FILE, PARITY_FILE, PARITY_TOLERANCE, PORTABLE_DIR, export_onnx
from ml.steps.tables import typed, write_parquet
from ml.steps.train import build_model
from tests.harness.schemas import SCHEMAS, use_schema


def trained_root(tmp_path: Path, task: str, model=None, estimator: str = "linear") -> Path:
    schema = SCHEMAS[task]
    frame = typed(synthetic_frame(160, seed=1, schema=schema, missing=0.1), schema)
    model = model if model is not None else build_model(schema, estimator, n_estimators=10)
    model.fit(frame[schema.names], frame[schema.label])
    save_mlflow_model(model, tmp_path / MODEL_DIR, schema)
    (tmp_path / PREPARED_DIR).mkdir(parents=True)
    write_parquet(frame, tmp_path / PREPARED_DIR / TEST_FILE)
    return tmp_path


@pytest.mark.parametrize("estimator", ["linear", "forest"])
@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_every_task_and_estimator_exports_within_parity(tmp_path, monkeypatch, task, estimator) -> None:
    use_schema(monkeypatch, tmp_path, SCHEMAS[task])
    root = trained_root(tmp_path, task, estimator=estimator)
    path = export_onnx(root, "hash1")
    assert path == root / PORTABLE_DIR / ONNX_FILE and path.is_file()
    record = json.loads((root / PORTABLE_DIR / PARITY_FILE).read_text())
    assert record["model_hash"] == "hash1" and record["rows"] == 160
    assert record["max_abs_diff"] <= PARITY_TOLERANCE


def test_the_same_model_is_not_converted_twice(tmp_path, monkeypatch, capsys: pytest.CaptureFixture) -> None:
    use_schema(monkeypatch, tmp_path, SCHEMAS["binary"])
    root = trained_root(tmp_path, "binary")
    export_onnx(root, "hash1")
    before = (root / PORTABLE_DIR / ONNX_FILE).stat().st_mtime_ns
    assert export_onnx(root, "hash1") is not None
    assert (root / PORTABLE_DIR / ONNX_FILE).stat().st_mtime_ns == before
    assert "already matches this model" in capsys.readouterr().out


def test_an_unconvertible_model_is_reported_and_the_mlflow_model_still_ships(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    schema = SCHEMAS["binary"]
    use_schema(monkeypatch, tmp_path, schema)
    numbers = ColumnTransformer([("n", FunctionTransformer(np.nan_to_num), schema.of_kind("numeric"))])
    root = trained_root(tmp_path, "binary", model=make_pipeline(numbers, LogisticRegression()))
    assert export_onnx(root, "hash2") is None
    assert not (root / PORTABLE_DIR).exists()
    assert "cannot be exported to ONNX" in capsys.readouterr().err
    assert (root / MODEL_DIR / "MLmodel").is_file()


def test_a_runner_without_the_held_out_rows_packages_without_touching_data(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """After an edge run the runner has the model, never `artifacts/prepared/`: no error, no ONNX."""
    root = trained_root(tmp_path, "binary")
    (root / PREPARED_DIR / TEST_FILE).unlink()
    assert export_onnx(root, "hash1") is None
    assert "stays where the data is" in capsys.readouterr().out


def test_an_onnx_model_that_came_back_with_a_passing_parity_report_is_used_without_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_schema(monkeypatch, tmp_path, SCHEMAS["binary"])
    edge = trained_root(tmp_path / "edge", "binary")
    export_onnx(edge, "hash1")  # on the edge, next to the held-out rows
    runner = tmp_path / "runner"
    (runner / PORTABLE_DIR).mkdir(parents=True)
    for name in (ONNX_FILE, PARITY_FILE):
        (runner / PORTABLE_DIR / name).write_bytes((edge / PORTABLE_DIR / name).read_bytes())
    assert export_onnx(runner, "hash1") == runner / PORTABLE_DIR / ONNX_FILE


def test_a_failed_parity_report_keeps_the_onnx_model_out_of_the_image(tmp_path: Path) -> None:
    (tmp_path / PORTABLE_DIR).mkdir(parents=True)
    (tmp_path / PORTABLE_DIR / ONNX_FILE).write_bytes(b"onnx")
    record = {"model_hash": "hash1", "rows": 50, "max_abs_diff": 0.2, "tolerance": 1e-5}
    (tmp_path / PORTABLE_DIR / PARITY_FILE).write_text(json.dumps(record))
    assert export_onnx(tmp_path, "hash1") is None
