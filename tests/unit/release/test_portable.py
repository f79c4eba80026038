"""The release ships the export stage's ONNX model only when its parity report allows, and needs no data row.

The runner of an edge-trained release holds what the job returned: artifacts/model and artifacts/portable,
never artifacts/prepared. The reports here are written by the export step itself (ml/steps/export.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ml.errors import EdgeTrainError
from ml.lineage import content_hash, onnx_hash
from ml.paths import MODEL_DIR, ONNX_FILE, PARITY_FILE, PORTABLE_DIR, PREPARED_DIR
from ml.release.portable import portable_model
from ml.steps import export
from tests.harness.schemas import SCHEMAS, use_schema
from tests.unit.steps.test_export import run_export


def runner_with_edge_outputs(tmp_path: Path, monkeypatch, model=None) -> Path:
    """Run the export step "on the edge", then give a runner only the model and the portable folder."""
    use_schema(monkeypatch, tmp_path, SCHEMAS["binary"])
    edge = tmp_path / "edge"
    run_export(edge, "binary", model=model)
    runner = tmp_path / "runner"
    shutil.copytree(edge / "model", runner / MODEL_DIR)
    shutil.copytree(edge / "portable", runner / PORTABLE_DIR)
    return runner


def model_hash(root: Path) -> str:
    return content_hash(root / MODEL_DIR)


def test_a_runner_without_any_data_row_ships_the_onnx_model_that_passed_on_the_edge(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture
) -> None:
    runner = runner_with_edge_outputs(tmp_path, monkeypatch)

    assert not (runner / PREPARED_DIR).exists()
    assert portable_model(runner, model_hash(runner)) == runner / PORTABLE_DIR / ONNX_FILE
    assert "checked on the held-out set: 160 rows" in capsys.readouterr().out
    # The lineage records the bytes the image ships.
    assert onnx_hash(runner, model_hash(runner)) == content_hash(runner / PORTABLE_DIR / ONNX_FILE)


def test_an_unconvertible_model_ships_the_mlflow_model_only(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture
) -> None:
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    numbers = ColumnTransformer(
        [("n", FunctionTransformer(np.nan_to_num), SCHEMAS["binary"].of_kind("numeric"))]
    )
    runner = runner_with_edge_outputs(tmp_path, monkeypatch, make_pipeline(numbers, LogisticRegression()))

    assert portable_model(runner, model_hash(runner)) is None
    out = capsys.readouterr().out
    assert "not convertible" in out and "MLflow model only" in out
    assert onnx_hash(runner, model_hash(runner)) == ""


def test_a_failed_parity_check_refuses_the_release_in_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(export, "PARITY_TOLERANCE", 0.0)
    runner = runner_with_edge_outputs(tmp_path, monkeypatch)

    with pytest.raises(EdgeTrainError, match="failed its parity check") as refused:
        portable_model(runner, model_hash(runner))
    assert "\n" not in refused.value.message
    assert onnx_hash(runner, model_hash(runner)) == ""


def test_a_report_written_for_another_model_is_refused(tmp_path: Path, monkeypatch) -> None:
    runner = runner_with_edge_outputs(tmp_path, monkeypatch)
    report = json.loads((runner / PORTABLE_DIR / PARITY_FILE).read_text())
    (runner / PORTABLE_DIR / PARITY_FILE).write_text(json.dumps({**report, "model_hash": "0" * 64}))

    with pytest.raises(EdgeTrainError, match="another model") as refused:
        portable_model(runner, model_hash(runner))
    assert "edge-train run" in (refused.value.hint or "")
    assert onnx_hash(runner, model_hash(runner)) == "", "a stale ONNX model is never recorded as shipped"


def test_a_missing_report_is_refused_with_what_to_run(tmp_path: Path, monkeypatch) -> None:
    runner = runner_with_edge_outputs(tmp_path, monkeypatch)
    shutil.rmtree(runner / PORTABLE_DIR)

    with pytest.raises(EdgeTrainError, match="no parity report") as refused:
        portable_model(runner, model_hash(runner))
    assert "submit --wait" in (refused.value.hint or "")


def test_a_failed_report_refuses_the_release_before_anything_is_registered(tmp_path: Path, monkeypatch):
    from ml.release.pipeline import plan_release

    monkeypatch.setattr(export, "PARITY_TOLERANCE", 0.0)
    runner = runner_with_edge_outputs(tmp_path, monkeypatch)

    with pytest.raises(EdgeTrainError, match="failed its parity check"):
        plan_release(runner)
    assert not (runner / "mlflow.db").exists(), "no model version for a release that cannot ship"
