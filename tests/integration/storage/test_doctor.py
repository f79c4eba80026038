"""`edge-train data doctor` and `data remote set` on bad input: one clear message, no traceback, in < 10 s.

Each case is a mistake users make with ASH: a wrong key, an expired or malformed SAS, a wrong endpoint
suffix, a container that does not exist, an API version the server rejects, a private CA not configured.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml.cli import app, run_app
from tests.harness.servers import ACCOUNT, ACCOUNT_KEY, Azurite, Stack, account_sas
from tests.integration.storage.workspace import Workspace

pytestmark = pytest.mark.integration
WRONG_KEY = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="


def edge_train(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, **env: str
) -> tuple[int, str, float]:
    """Run the CLI as a user would; return exit code, everything printed, and seconds taken."""
    with monkeypatch.context() as patch:
        patch.setenv("EDGE_TRAIN_ROOT", str(root))
        for key, value in env.items():
            patch.setenv(key, value)
        start = time.monotonic()
        code = run_app(app, list(args))
        elapsed = time.monotonic() - start
    out = capsys.readouterr()
    return code, out.out + out.err, elapsed


def set_connection_string(ws: Workspace, conn_str: str) -> None:
    from dvc.config import Config

    with Config(dvc_dir=str(ws.root / ".dvc")).edit("local") as conf:
        conf["remote"]["ash"] = {"connection_string": conn_str}


def assert_one_clear_error(code: int, output: str, elapsed: float, *expected: str) -> None:
    assert code != 0
    assert "Traceback" not in output
    assert output.count("error:") == 1
    for text in expected:
        assert text in output, output
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_doctor_passes_every_check_on_a_healthy_remote(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, elapsed = edge_train(workspace.root, monkeypatch, capsys, "data", "doctor")
    assert code == 0, output
    for check in ("DNS:", "TCP:", "API version 2019-07-07", "probe blob"):
        assert check in output
    assert elapsed < 10


def test_wrong_account_key(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_connection_string(workspace, workspace.stack.connection_string().replace(ACCOUNT_KEY, WRONG_KEY))
    result = edge_train(workspace.root, monkeypatch, capsys, "data", "doctor")
    assert_one_clear_error(*result, "refused the account key")


def test_expired_sas(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sas = account_sas(datetime.now(UTC) - timedelta(hours=1))
    set_connection_string(
        workspace, f"BlobEndpoint={workspace.stack.blob_endpoint};SharedAccessSignature={sas}"
    )
    result = edge_train(workspace.root, monkeypatch, capsys, "data", "doctor")
    assert_one_clear_error(*result, "SAS token expired")


def test_malformed_sas_is_refused_before_it_is_stored(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (workspace.root / ".dvc" / "config.local").read_text()
    result = edge_train(
        workspace.root,
        monkeypatch,
        capsys,
        "data",
        "remote",
        "set",
        "--credential",
        "sas",
        AZURE_STORAGE_SAS_TOKEN="not-a-sas-token",
    )
    assert_one_clear_error(*result, "SAS token is malformed")
    assert (workspace.root / ".dvc" / "config.local").read_text() == before


def test_valid_sas_signed_for_ash_works(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sas = account_sas(datetime.now(UTC) + timedelta(hours=1))
    code, output, _ = edge_train(
        workspace.root,
        monkeypatch,
        capsys,
        "data",
        "remote",
        "set",
        "--credential",
        "sas",
        AZURE_STORAGE_SAS_TOKEN=sas,
    )
    assert code == 0, output
    code, output, _ = edge_train(workspace.root, monkeypatch, capsys, "data", "doctor")
    assert code == 0, output


def test_entra_id_is_refused_with_the_alternatives(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = edge_train(workspace.root, monkeypatch, capsys, "data", "remote", "set", "--credential", "entra")
    assert_one_clear_error(*result, "no Entra ID", "AZURE_STORAGE_SAS_TOKEN")


def test_wrong_endpoint_suffix(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_connection_string(
        workspace,
        f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT};"
        f"AccountKey={ACCOUNT_KEY};EndpointSuffix=azurestack.wrong.invalid",
    )
    result = edge_train(workspace.root, monkeypatch, capsys, "data", "doctor")
    assert_one_clear_error(*result, "DNS:", "endpoint_suffix")


def test_unknown_container(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dvc.config import Config

    with Config(dvc_dir=str(workspace.root / ".dvc")).edit("repo") as conf:
        conf["remote"]["ash"]["url"] = "azure://nosuchcontainer"
    result = edge_train(workspace.root, monkeypatch, capsys, "data", "doctor")
    assert_one_clear_error(*result, "container 'nosuchcontainer' does not exist")


def test_api_version_the_server_rejects(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.write_settings('api_version = "2021-08-06"\n')
    result = edge_train(workspace.root, monkeypatch, capsys, "data", "doctor")
    assert_one_clear_error(*result, "rejected API version 2021-08-06", 'api_version = "2019-07-07"')


@pytest.fixture(scope="module")
def tls_azurite(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> tuple[Azurite, Path]:
    """Azurite serving HTTPS with a certificate from a private CA (as ASH endpoints often do)."""
    from tests.harness.tls import private_ca

    folder = tmp_path_factory.mktemp("tls")
    ca, cert, key = private_ca(folder, "127.0.0.1")
    server = Azurite(folder / "azurite", extra_args=("--cert", str(cert), "--key", str(key)))
    server.start()
    yield server, ca
    server.stop()


def test_untrusted_certificate_then_the_configured_ca_bundle(
    tmp_path: Path,
    stack: Stack,
    tls_azurite: tuple[Azurite, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, ca = tls_azurite
    ws = Workspace(tmp_path, f"c{uuid.uuid4().hex[:12]}", stack)
    ws.run("git", "init", "-q")
    from dvc.repo import Repo

    Repo.init(str(tmp_path)).close()
    (tmp_path / "params.yaml").write_text("{}\n")
    endpoint = f"{server.url}/{ACCOUNT}"
    settings = f'[storage]\ncontainer = "{ws.container}"\nblob_endpoint = "{endpoint}"\n'
    (tmp_path / "edge-train.toml").write_text(settings)

    result = edge_train(
        tmp_path,
        monkeypatch,
        capsys,
        "data",
        "remote",
        "set",
        "--credential",
        "key",
        AZURE_STORAGE_KEY=ACCOUNT_KEY,
    )
    assert_one_clear_error(*result, "not trusted", "ca_bundle")

    (tmp_path / "edge-train.toml").write_text(settings + f'ca_bundle = "{ca.name}"\n')
    import shutil

    shutil.copy(ca, tmp_path / ca.name)
    code, output, _ = edge_train(
        tmp_path,
        monkeypatch,
        capsys,
        "data",
        "remote",
        "set",
        "--credential",
        "key",
        AZURE_STORAGE_KEY=ACCOUNT_KEY,
    )
    assert code == 0, output
    code, output, _ = edge_train(tmp_path, monkeypatch, capsys, "data", "doctor")
    assert code == 0, output
    assert "TLS: certificate of 127.0.0.1 trusted" in output

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("private CA, plain dvc")
    ws.dvc_add()
    ws.run("dvc", "push")  # the CA bundle reaches DVC's aiohttp transport through the pin
