"""Fixtures for the Azure tests: a fresh clone with planted secrets and data, and a fake Azure."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from requests.adapters import HTTPAdapter

from ml.config import Settings, StorageSettings

from .fake_azure import (
    FakeAzure,
    FakeCredential,
    fake_workspace_settings,
)

REPO = Path(__file__).resolve().parents[3]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template's files in a new git repository, as a forker has them after `git clone`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    root = tmp_path / "fork"
    for name in listed:
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "fork"], cwd=root, check=True, env=env)
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(root))
    return root


@pytest.fixture
def with_local_state(clone: Path) -> Path:
    """The clone after a local run: data, tracking db, a secret in .dvc/config.local and a virtualenv."""
    (clone / "data" / "raw").mkdir(parents=True)
    (clone / "data" / "raw" / "patients.csv").write_text("radius,label\n1.0,0\n")
    (clone / "mlflow.db").write_bytes(b"SQLite format 3\x00")
    (clone / ".dvc" / "config.local").write_text(
        "['remote \"azure\"']\n    connection_string = BlobEndpoint=https://a.blob.x;SharedAccessSignature=planted-secret-7f3a\n"
    )
    (clone / ".venv" / "bin").mkdir(parents=True)
    (clone / ".venv" / "bin" / "python").write_text("")
    return clone


@pytest.fixture
def settings() -> Settings:
    return Settings(
        model={"name": "breast-cancer-classifier"},
        azure=fake_workspace_settings(),
        storage=StorageSettings(
            blob_endpoint="https://ashacct.blob.local.azurestack.external", container="edge-train"
        ),
    )


@pytest.fixture
def fake_azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    fake = FakeAzure()
    monkeypatch.setattr(HTTPAdapter, "send", lambda adapter, request, **kw: fake.send(adapter, request, **kw))
    yield fake


@pytest.fixture
def ml_client(settings: Settings, fake_azure: FakeAzure):
    from ml.azure.client import workspace_client

    return workspace_client(settings.azure, credential=FakeCredential())
