"""Bad input to the release commands: one clear error each, and nothing half-done."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ml.errors import EdgeTrainError
from ml.release.promote import promote_version
from ml.release.register import register_local


def test_registering_without_a_trained_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(EdgeTrainError, match="no trained model in artifacts/model/") as info:
        register_local(tmp_path)
    assert "edge-train run" in info.value.hint
    assert not (tmp_path / "mlflow.db").exists()


def tagged_repo(root: Path, fields: dict[str, str]) -> Path:
    import subprocess

    from ml.release.version import create_version

    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "trained"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], cwd=root, check=True
        )
    (root / "edge-train.toml").write_text('[image]\nregistry = "127.0.0.1:5999"\n')
    create_version(root, "m", {"model_hash": "m1", "signature_hash": "s", **fields}, "v1.0.0")
    return root


def test_a_version_without_a_published_image_is_not_promoted(tmp_path: Path) -> None:
    """A fresh promote runner knows nothing of earlier pushes: the version tag says there is no image."""
    root = tagged_repo(tmp_path, {})
    with pytest.raises(
        EdgeTrainError, match=r"records no image digest, so it has no published image"
    ) as info:
        promote_version(root, "m@v1.0.0", "production")
    assert "edge-train push" in info.value.hint
    assert "#production#" not in subprocess_tags(root)


def test_a_version_whose_image_is_gone_from_the_registry_is_not_promoted(tmp_path: Path, monkeypatch) -> None:
    from ml.release import image

    root = tagged_repo(tmp_path, {"image_digest": "sha256:" + "1" * 64})
    monkeypatch.setattr(image, "remote_image", lambda dest, authfile=None: None)  # the registry's answer
    with pytest.raises(EdgeTrainError, match=r"has no such image, but m@v1.0.0 records sha256:1111"):
        promote_version(root, "m@v1.0.0", "production")
    monkeypatch.setattr(
        image, "remote_image", lambda dest, authfile=None: {"digest": "sha256:" + "2" * 64, "labels": {}}
    )
    with pytest.raises(EdgeTrainError, match=r"holds sha256:2222"):
        promote_version(root, "m@v1.0.0", "production")
    assert "#production#" not in subprocess_tags(root)


def subprocess_tags(root: Path) -> str:
    import subprocess

    return subprocess.run(["git", "tag"], cwd=root, capture_output=True, text=True, check=True).stdout


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
    # `edge-train run` (not required) still skips with the reason, as before.
    assert pipeline.push_image(tmp_path, rel, tmp_path / "build" / "image") is None


def test_without_a_registry_a_failed_build_does_not_claim_the_version_stays_unpromoted(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """The local default has no registry, and `promote` then marks a version without an image: the skipped
    build must say that, not "stays unpromoted" (what it says when a registry is configured, above)."""
    from ml.release import image, pipeline
    from ml.serving.context import context_digest
    from ml.state import update_state

    context = tmp_path / "build" / "image"
    context.mkdir(parents=True)
    (context / "server.py").write_text("print('scores')\n")
    base = pipeline.load_settings(tmp_path).image.base
    update_state(
        tmp_path, build_failed={"context_digest": context_digest(context, base), "reason": "offline"}
    )
    monkeypatch.setattr(image, "missing_tool", lambda: None)  # as where buildah is installed
    rel = SimpleNamespace(ref="m@v1.0.0", version="v1.0.0")
    assert pipeline.push_image(tmp_path, rel, context, retry_failed_build=False) is None
    said = capsys.readouterr()
    out = said.out + said.err
    assert "offline" in out and "m@v1.0.0 has no image" in out and "marks it without one" in out
    assert "stays unpromoted" not in out
