"""The model image is reproducible and carries nothing from the machine that built it.

Two builds of the same context and base give the same image digest; no layer holds onnxruntime's telemetry
(device id, its SQLite database with the host's CPU, memory and OS, `/tmp/.ses`) or any home-directory cache.
Slow (two real image builds): `pytest -m slow`. Needs root, buildah, skopeo and mmdebstrap.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from ml.release.image import Buildah, Destination
from tests.conftest import REPO_ROOT, require_tool
from tests.integration.clone import edge_train, fresh_clone
from tests.integration.release.base_image import base_name, build_base

pytestmark = [pytest.mark.integration, pytest.mark.slow]
STORAGE = REPO_ROOT / ".tools" / "buildah"
BASE = base_name()
# What must never be in the image's own layers: telemetry and the build host's per-user state.
FORBIDDEN = ("deviceid", "onnxruntime.db", ".ses", ".cache/", "DeveloperTools")


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("buildah", "skopeo", "mmdebstrap"):
        require_tool(tool, f"apt-get install {tool} (or: make test-tools)")
    if os.geteuid() != 0:
        pytest.skip("buildah with vfs storage and chroot isolation needs root")
    build_base(Buildah(REPO_ROOT, STORAGE).command(), BASE)
    clone = fresh_clone(tmp_path_factory.mktemp("reproducible") / "repo")
    (clone / "edge-train.toml").write_text(f'[image]\nbase = "{BASE}"\n')
    for args in (("run", "--no-release"), ("package",)):
        result = edge_train(clone, *args)
        assert result.returncode == 0, result.stderr
    from ml.serving.context import CONTEXT_DIR

    return clone / CONTEXT_DIR


def _layers(layout: Path) -> list[Path]:
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest).read_text())
    return [layout / "blobs" / "sha256" / layer["digest"].split(":")[1] for layer in manifest["layers"]]


def test_two_builds_of_the_same_inputs_give_the_same_digest_and_no_host_data(
    context: Path, tmp_path: Path
) -> None:
    buildah = Buildah(REPO_ROOT, STORAGE)
    labels = {"org.opencontainers.image.version": "v1.0.0"}
    built = [buildah.build(context, BASE, labels, base_tls_verify=False) for _ in range(2)]
    try:
        digests = []
        for number, image_id in enumerate(built):
            layout = tmp_path / f"oci{number}"
            dest = Destination(f"oci:{layout}:model:v1", str(layout), True)
            digests.append(buildah.push(image_id, dest))
        assert built[0] == built[1], "two builds of the same context gave different images"
        assert digests[0] == digests[1]
        # `--layers=false`: everything the Dockerfile adds is one layer on top of the base's.
        with tarfile.open(_layers(tmp_path / "oci0")[-1]) as tar:
            found = [m.name for m in tar.getmembers() if any(f in m.name for f in FORBIDDEN)]
        assert not found, f"host data in the image: {found}"
    finally:
        for image_id in set(built):
            buildah.remove(image_id)
