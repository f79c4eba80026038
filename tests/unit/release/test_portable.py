"""The ONNX export ships only a model that agrees with the native one, and never blocks the release."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.modelio import save_mlflow_model
from ml.paths import MODEL_DIR, PREPARED_DIR
from ml.release.portable import ONNX_FILE, PARITY_FILE, PORTABLE_DIR, export_onnx
from ml.steps.schema import FEATURES, LABEL
from ml.steps.train import build_model


def trained_root(tmp_path: Path, model) -> Path:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.uniform(1, 20, size=(80, len(FEATURES))), columns=list(FEATURES))
    frame[LABEL] = (frame.iloc[:, 0] > 10).astype(int)
    model.fit(frame[list(FEATURES)], frame[LABEL])
    save_mlflow_model(model, tmp_path / MODEL_DIR)
    (tmp_path / PREPARED_DIR).mkdir(parents=True)
    frame.to_csv(tmp_path / PREPARED_DIR / "test.csv", index=False)
    return tmp_path


def test_a_convertible_model_is_exported_with_its_parity_record(tmp_path: Path) -> None:
    root = trained_root(tmp_path, build_model(1.0, 500, "lbfgs"))
    path = export_onnx(root, "hash1")
    assert path == root / PORTABLE_DIR / ONNX_FILE and path.is_file()
    record = json.loads((root / PORTABLE_DIR / PARITY_FILE).read_text())
    assert record["model_hash"] == "hash1" and record["rows"] == 80
    assert record["max_abs_diff"] <= 1e-5


def test_the_same_model_is_not_converted_twice(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = trained_root(tmp_path, build_model(1.0, 500, "lbfgs"))
    export_onnx(root, "hash1")
    before = (root / PORTABLE_DIR / ONNX_FILE).stat().st_mtime_ns
    assert export_onnx(root, "hash1") is not None
    assert (root / PORTABLE_DIR / ONNX_FILE).stat().st_mtime_ns == before
    assert "already matches this model" in capsys.readouterr().out


def test_an_unconvertible_model_is_reported_and_the_mlflow_model_still_ships(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(FunctionTransformer(np.log1p), build_model(1.0, 500, "lbfgs"))
    root = trained_root(tmp_path, model)
    assert export_onnx(root, "hash2") is None
    assert not (root / PORTABLE_DIR).exists()
    assert "cannot be exported to ONNX" in capsys.readouterr().err
    assert (root / MODEL_DIR / "MLmodel").is_file()


def test_a_runner_without_the_held_out_rows_packages_without_touching_data(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """After an edge run the runner has the model, never `artifacts/prepared/`: no error, no ONNX."""
    root = trained_root(tmp_path, build_model(1.0, 500, "lbfgs"))
    (root / PREPARED_DIR / "test.csv").unlink()
    assert export_onnx(root, "hash1") is None
    assert "stays where the data is" in capsys.readouterr().out


def test_an_onnx_model_that_came_back_with_a_passing_parity_report_is_used_without_data(
    tmp_path: Path,
) -> None:
    edge = trained_root(tmp_path / "edge", build_model(1.0, 500, "lbfgs"))
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
