"""The fetch step takes the storage credential from the job's environment or a mounted secret only."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.data.fetch import storage_connection_string
from ml.errors import EdgeTrainError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_SAS_TOKEN",
        "EDGE_TRAIN_STORAGE_SECRET_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_a_connection_string_in_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING", "BlobEndpoint=https://a.blob.x;SharedAccessSignature=s"
    )
    assert storage_connection_string(tmp_path) == "BlobEndpoint=https://a.blob.x;SharedAccessSignature=s"


def test_a_mounted_kubernetes_secret_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret" / "connection-string"
    secret.parent.mkdir()
    secret.write_text("BlobEndpoint=https://a.blob.x;SharedAccessSignature=s\n")
    monkeypatch.setenv("EDGE_TRAIN_STORAGE_SECRET_FILE", str(secret))

    assert storage_connection_string(tmp_path) == "BlobEndpoint=https://a.blob.x;SharedAccessSignature=s"


def test_a_missing_secret_file_says_to_mount_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_TRAIN_STORAGE_SECRET_FILE", str(tmp_path / "nope"))
    with pytest.raises(EdgeTrainError, match="no such file"):
        storage_connection_string(tmp_path)


def test_a_sas_token_is_combined_with_the_configured_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "edge-train.toml").write_text(
        '[storage]\nblob_endpoint = "https://a.blob.local.azurestack.external"\n'
    )
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "?sv=2019-07-07&sig=x")

    assert storage_connection_string(tmp_path) == (
        "BlobEndpoint=https://a.blob.local.azurestack.external;SharedAccessSignature=sv=2019-07-07&sig=x"
    )


def test_without_any_credential_dvc_uses_the_remote_as_configured(tmp_path: Path) -> None:
    assert storage_connection_string(tmp_path) is None
