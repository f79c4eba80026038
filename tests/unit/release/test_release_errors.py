"""Bad input to the release commands: one clear error each, and nothing half-done."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ml.errors import EdgeTrainError
from ml.release.promote import promote_version
from ml.release.register import register_local
from ml.state import read_state, update_state


def test_registering_without_a_trained_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(EdgeTrainError, match="no trained model in artifacts/model/") as info:
        register_local(tmp_path)
    assert "edge-train run" in info.value.hint
    assert not (tmp_path / "mlflow.db").exists()


def test_a_version_whose_push_failed_is_not_promoted(tmp_path: Path) -> None:
    update_state(tmp_path, unpublished="m@v1.0.0")
    with pytest.raises(EdgeTrainError, match=r"no published image .* not promoted") as info:
        promote_version(tmp_path, "m@v1.0.0", "production")
    assert "edge-train push" in info.value.hint


@pytest.mark.parametrize("ref", ["m", "m@", "m@1.0", "@v1.0.0", "latest", "v1.0"])
def test_a_reference_that_is_not_a_model_version_is_refused(tmp_path: Path, ref: str) -> None:
    with pytest.raises(EdgeTrainError, match=r"is not a model version") as info:
        promote_version(tmp_path, ref, "production")
    assert "<model>@vX.Y.Z, vX.Y.Z or X.Y.Z" in info.value.hint


def test_push_with_a_configured_registry_fails_where_it_cannot_build(tmp_path: Path, monkeypatch) -> None:
    """`edge-train push` (the train workflow's ACR step) must not pass without pushing."""
    from ml.release import image, pipeline

    (tmp_path / "edge-train.toml").write_text('[image]\nregistry = "myacr.azurecr.io"\n')
    monkeypatch.setattr(image, "missing_tool", lambda: "buildah is not installed")
    rel = SimpleNamespace(ref="m@v1.0.0", version="v1.0.0")
    with pytest.raises(EdgeTrainError, match=r"cannot build the image for myacr\.azurecr\.io") as info:
        pipeline.push_image(tmp_path, rel, tmp_path / "build" / "image", required=True)
    assert "stays unpromoted" in info.value.message and "root" in info.value.hint
    assert read_state(tmp_path)["unpublished"] == "m@v1.0.0"
    # `edge-train run` (not required) still skips with the reason, as before.
    update_state(tmp_path, unpublished="")
    assert pipeline.push_image(tmp_path, rel, tmp_path / "build" / "image") is None
