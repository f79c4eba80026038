"""The embedded default destination: an OCI layout directory, written and read back daemonlessly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ml.release.image import Buildah, Destination, remote_image
from tests.conftest import require_tool

pytestmark = pytest.mark.integration


@pytest.fixture
def builder(tmp_path: Path) -> Buildah:
    require_tool("buildah", "apt-get install buildah (or: make test-tools)")
    require_tool("skopeo", "apt-get install skopeo (or: make test-tools)")
    if os.geteuid() != 0:
        pytest.skip("buildah with vfs storage and chroot isolation needs root")
    return Buildah(tmp_path, storage=tmp_path / "storage")


def test_a_pushed_image_is_found_by_tag_and_a_missing_tag_is_none(tmp_path: Path, builder: Buildah) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY model.txt /srv/model.txt\n")
    (context / "model.txt").write_text("weights\n")
    image_id = builder.build(context, "scratch", {"io.github.edge-train.context-digest": "abc"})
    v1 = Destination.for_settings(tmp_path, "", "team/model", "v1.0.0")
    digest = builder.push(image_id, v1)
    builder.remove(image_id)
    found = remote_image(v1)
    assert found == {"digest": digest, "labels": found["labels"]}
    assert found["labels"]["io.github.edge-train.context-digest"] == "abc"
    assert remote_image(Destination.for_settings(tmp_path, "", "team/model", "v2.0.0")) is None
