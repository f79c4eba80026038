"""Bad input to the release commands: one clear error each, and nothing half-done."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.errors import EdgeTrainError
from ml.release.promote import promote_version
from ml.release.register import register_local
from ml.state import update_state


def test_registering_without_a_trained_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(EdgeTrainError, match="no trained model in artifacts/model/") as info:
        register_local(tmp_path)
    assert "edge-train run" in info.value.hint
    assert not (tmp_path / "mlflow.db").exists()


def test_a_version_whose_push_failed_is_not_promoted(tmp_path: Path) -> None:
    update_state(tmp_path, unpublished="m@v1.0.0")
    with pytest.raises(EdgeTrainError, match=r"no published image .* not promoted") as info:
        promote_version(tmp_path, "m@v1.0.0", "prod")
    assert "edge-train push" in info.value.hint


@pytest.mark.parametrize("ref", ["m", "m@", "v1.0.0"])
def test_a_reference_that_is_not_model_at_version_is_refused(tmp_path: Path, ref: str) -> None:
    with pytest.raises(EdgeTrainError, match=r"is not <model>@vX\.Y\.Z"):
        promote_version(tmp_path, ref, "prod")
