"""Where images go, and which names are refused before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.errors import EdgeTrainError
from ml.release.image import Destination


def test_no_registry_means_an_oci_layout_in_the_checkout(tmp_path: Path) -> None:
    dest = Destination.for_settings(tmp_path, "", "team/model", "v1.0.0")
    assert dest.transport_ref == f"oci:{tmp_path}/build/oci:team/model:v1.0.0"


def test_loopback_registries_speak_plain_http_and_others_need_tls(tmp_path: Path) -> None:
    assert not Destination.for_settings(tmp_path, "127.0.0.1:5000", "m", "v1.0.0").tls_verify
    assert not Destination.for_settings(tmp_path, "localhost:5000", "m", "v1.0.0").tls_verify
    acr = Destination.for_settings(tmp_path, "myacr.azurecr.io", "team/m", "v1.0.0")
    assert acr.tls_verify and acr.transport_ref == "docker://myacr.azurecr.io/team/m:v1.0.0"


@pytest.mark.parametrize("name", ["Team/Model", "team model", "team//model", "-team", "team/model:tag"])
def test_invalid_image_names_name_the_setting_and_the_rule(tmp_path: Path, name: str) -> None:
    with pytest.raises(EdgeTrainError, match=r"\[image\] name = .* is not a valid image name") as info:
        Destination.for_settings(tmp_path, "127.0.0.1:5000", name, "v1.0.0")
    assert "lowercase" in info.value.hint


def test_an_invalid_tag_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EdgeTrainError, match="image tag"):
        Destination.for_settings(tmp_path, "", "m", "v1.0.0+build/1")


def test_the_source_label_never_carries_credentials_from_the_clone_url(tmp_path: Path) -> None:
    import subprocess

    from ml.release.pipeline import _source_url

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "remote", "add", "origin", "https://x-access-token:ghs_secret@github.com/o/r.git"],
        cwd=tmp_path,
        check=True,
    )
    assert _source_url(tmp_path) == "https://github.com/o/r.git"
