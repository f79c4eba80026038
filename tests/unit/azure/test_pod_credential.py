"""The pod's storage credential: init prints how to set it up, doctor checks it, the node reads its names."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ml.azure.vault import compute_identity_check, pod_credential_commands, vault_check
from ml.config import Settings
from ml.edge.credential import vault_settings
from ml.errors import EdgeTrainError


def test_init_prints_the_secret_and_role_commands_with_this_forks_names(settings: Settings) -> None:
    settings.azure.key_vault_url = "https://kv-edge.vault.azure.net"
    commands = "\n".join(pod_credential_commands(settings))
    assert "az keyvault secret set --vault-name kv-edge --name edge-train-storage --file" in commands
    assert '--role "Key Vault Secrets User"' in commands
    assert f"az ml compute show --name {settings.azure.compute} " in commands
    assert "SharedAccessSignature=" in commands and "sig=" not in commands  # the value goes in from a file


def test_doctor_fails_without_a_vault_and_names_the_init_option(settings: Settings) -> None:
    check = vault_check(settings, credential=None)
    assert check.status == "fail" and "--key-vault-url" in check.fix


def test_doctor_wants_the_compute_to_have_an_identity(settings: Settings) -> None:
    bare = compute_identity_check(SimpleNamespace(identity=None), settings)
    assert bare.status == "fail" and "attach" in bare.fix
    ok = compute_identity_check(SimpleNamespace(identity=SimpleNamespace(type="system_assigned")), settings)
    assert ok.status == "ok"


def test_the_node_reads_vault_and_secret_names_from_the_job_environment() -> None:
    assert vault_settings({}) is None
    assert vault_settings(
        {"EDGE_TRAIN_KEY_VAULT_URL": "https://kv.vault.azure.net", "EDGE_TRAIN_STORAGE_SECRET": "s"}
    ) == ("https://kv.vault.azure.net", "s")
    with pytest.raises(EdgeTrainError, match="EDGE_TRAIN_KEY_VAULT_URL is not set"):
        vault_settings({"EDGE_TRAIN_STORAGE_SECRET": "s"})


def test_a_vault_url_setting_that_is_not_a_url_is_refused_when_loading() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"https://kv1\.vault\.azure\.net"):
        Settings.model_validate({"azure": {"key_vault_url": "kv1"}})
