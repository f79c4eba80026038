"""The API-version pin: where its settings come from, which endpoints it applies to, what clients get."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from azure.storage.blob.aio import BlobServiceClient

from ml.storage.pin import ENV_API_VERSION, ENV_CA_BUNDLE, Pin, pinned_client_class, resolve_pin

ASH = "https://acct.blob.local.azurestack.external"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (ENV_API_VERSION, ENV_CA_BUNDLE, "EDGE_TRAIN_ROOT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "params.yaml").write_text("{}\n")
    return tmp_path


def test_the_default_is_ashs_newest_version(repo: Path) -> None:
    assert resolve_pin(repo) == Pin("2019-07-07", None)


def test_edge_train_toml_sets_version_and_ca_bundle_relative_to_the_repository(repo: Path) -> None:
    settings = '[storage]\napi_version = "2018-03-28"\nca_bundle = "certs/ca.pem"\n'
    (repo / "edge-train.toml").write_text(settings)
    (repo / "subfolder").mkdir()
    assert resolve_pin(repo / "subfolder") == Pin("2018-03-28", str(repo / "certs" / "ca.pem"))


def test_an_empty_api_version_turns_the_pin_off(repo: Path) -> None:
    (repo / "edge-train.toml").write_text('[storage]\napi_version = ""\n')
    assert resolve_pin(repo).api_version is None


def test_the_quick_read_default_is_the_settings_default() -> None:
    from ml.config import StorageSettings
    from ml.storage.pin import DEFAULT_API_VERSION

    assert StorageSettings().api_version == DEFAULT_API_VERSION


def test_a_storage_value_of_the_wrong_type_is_reported_and_the_defaults_apply(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "edge-train.toml").write_text("[storage]\napi_version = 2019\n")
    assert resolve_pin(repo) == Pin("2019-07-07", None)
    assert "storage pin uses its defaults" in capsys.readouterr().err


def test_resolving_the_pin_does_not_import_pydantic(repo: Path) -> None:
    (repo / "edge-train.toml").write_text('[storage]\napi_version = "2018-03-28"\n')
    code = (
        "import sys, pathlib; from ml.storage.pin import resolve_pin; "
        f"print(resolve_pin(pathlib.Path({str(repo)!r})).api_version, 'pydantic' in sys.modules)"
    )
    assert run_python(code).split() == ["2018-03-28", "False"]


def test_the_environment_wins_and_applies_to_public_azure_too(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "edge-train.toml").write_text('[storage]\napi_version = "2018-03-28"\n')
    monkeypatch.setenv(ENV_API_VERSION, "2019-02-02")
    pin = resolve_pin(repo)
    assert pin.api_version == "2019-02-02"
    assert pin.applies_to("https://acct.blob.core.windows.net")


def test_public_azure_endpoints_are_not_pinned_by_the_default() -> None:
    pin = Pin("2019-07-07", None)
    assert pin.applies_to(ASH)
    assert pin.applies_to("http://127.0.0.1:10000/devstoreaccount1")
    assert not pin.applies_to("https://acct.blob.core.windows.net")


def test_pinned_clients_send_the_pinned_version_and_verify_with_the_ca_bundle() -> None:
    cls = pinned_client_class(BlobServiceClient, Pin("2019-07-07", "/etc/ash-ca.pem"))
    client = cls.from_connection_string(f"BlobEndpoint={ASH};SharedAccessSignature=sv=2019-07-07&sig=x")
    assert client.api_version == "2019-07-07"
    assert client._config.transport.connection_config.verify == "/etc/ash-ca.pem"


def test_without_proxy_variables_or_netrc_clients_skip_the_per_request_environment_lookups(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    for name in [name for name in os.environ if name.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    cls = pinned_client_class(BlobServiceClient, Pin("2019-07-07", None))
    assert cls(ASH)._config.transport._use_env_settings is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert cls(ASH)._config.transport._use_env_settings is True
    monkeypatch.delenv("HTTPS_PROXY")
    (tmp_path / "no-netrc").write_text("machine x login y password z\n")
    assert cls(ASH)._config.transport._use_env_settings is True


def test_an_explicit_api_version_from_the_caller_is_kept() -> None:
    cls = pinned_client_class(BlobServiceClient, Pin("2019-07-07", None))
    assert cls(ASH, api_version="2019-02-02").api_version == "2019-02-02"


def run_python(code: str, **env: str) -> str:
    import os

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        timeout=120,
    )
    return result.stdout.strip()


def test_a_fresh_interpreter_gets_adlfs_patched_through_the_installed_pth_file() -> None:
    assert run_python("import adlfs.spec as s; print(s.AIOBlobServiceClient.__module__)") == "ml.storage.pin"


def test_edge_train_storage_pin_off_leaves_adlfs_untouched() -> None:
    code = "import adlfs.spec as s; print(s.AIOBlobServiceClient.__module__)"
    assert (
        run_python(code, EDGE_TRAIN_STORAGE_PIN="off") == "azure.storage.blob.aio._blob_service_client_async"
    )


def test_the_startup_hook_leaves_ml_to_be_found_from_the_working_directory(tmp_path):
    # The .pth line imports ml.storage.autopin before the working directory is on sys.path; if that binding
    # stayed, `python -m ml.steps.train` in a second checkout (a test clone, a fork) would run this code.
    (tmp_path / "ml").mkdir()
    (tmp_path / "ml" / "__init__.py").write_text("")
    found = subprocess.run(
        [sys.executable, "-c", "import ml, sys; print(ml.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == str(tmp_path / "ml" / "__init__.py")
