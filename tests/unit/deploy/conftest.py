"""A checkout with released and promoted versions, and real OCI layouts for their images.

Versions and stage tags are written by the release code itself (real git tags in GTO's format); images are
OCI layouts written byte for byte by the spec (https://github.com/opencontainers/image-spec), read back by
the real skopeo, so the registry question `deploy` asks is answered by a real tool, not by us.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from ml.deploy.image import MODEL_HASH_LABEL
from ml.release.image import OCI_LAYOUT_DIR
from ml.release.version import create_version, promote
from tests.unit.azure.conftest import fake_azure, ml_client, settings  # noqa: F401  (the Azure fake, shared)

MODEL = "breast-cancer-classifier"
IMAGE = "edge-train/breast-cancer-classifier"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def model_hash(version: str) -> str:
    return hashlib.md5(version.encode()).hexdigest()


def write_settings(root: Path, text: str) -> None:
    (root / "edge-train.toml").write_text(f'[image]\nname = "{IMAGE}"\nregistry = ""\n\n{text}')


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with v1.0.0 and v1.1.0 tagged, v1.0.0 then v1.1.0 promoted, and v1.2.0 only tagged."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "params.yaml").write_text("{}\n")
    write_settings(root, '[deploy.onprem]\nkind = "kubernetes"\nnamespace = "models"\n')
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", version], cwd=root, check=True)
        create_version(root, MODEL, {"model_hash": model_hash(version)}, version)
    promote(root, MODEL, "v1.0.0", "production")
    promote(root, MODEL, "v1.1.0", "production")
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(root))
    return root


def _blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def add_image(root: Path, version: str, model: str | None = None) -> str:
    """Put an image for `version` (labelled with `model`'s hash) in the OCI layout; return its digest."""
    layout = root / OCI_LAYOUT_DIR
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    labels = {MODEL_HASH_LABEL: model_hash(model or version), "org.opencontainers.image.version": version}
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": labels, "User": "65532:65532"},
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **_blob(layout, json.dumps(config).encode()),
        },
        "layers": [],
    }
    descriptor = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **_blob(layout, json.dumps(manifest).encode()),
    }
    index_path = layout / "index.json"
    index = (
        json.loads(index_path.read_text()) if index_path.is_file() else {"schemaVersion": 2, "manifests": []}
    )
    ref = f"{IMAGE}:{version}"
    index["manifests"] = [
        m
        for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != ref
    ] + [{**descriptor, "annotations": {"org.opencontainers.image.ref.name": ref}}]
    index_path.write_text(json.dumps(index))
    return descriptor["digest"]


@pytest.fixture
def skopeo() -> None:
    from tests.conftest import require_tool

    require_tool("skopeo", "apt-get install skopeo (or: make test-tools)")


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root except .git: to prove a refused command changed nothing."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
