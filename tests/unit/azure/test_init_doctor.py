"""`edge-train init` writes one checked config; `edge-train doctor` names each missing piece and its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.azure.doctor import run_checks
from ml.cli import app, run_app
from ml.config import load_settings

ARC_ID = (
    "/subscriptions/0a1b2c3d-0000-4000-8000-000000000001/resourceGroups/edge-rg/providers/"
    "Microsoft.Kubernetes/connectedClusters/ash-k3s"
)
FULL = [
    "init",
    "--subscription-id",
    "0a1b2c3d-0000-4000-8000-000000000001",
    "--tenant-id",
    "22222222-2222-2222-2222-222222222222",
    "--client-id",
    "33333333-3333-3333-3333-333333333333",
    "--resource-group",
    "edge-rg",
    "--workspace",
    "edge-ws",
    "--compute",
    "ash-k3s",
    "--arc-cluster-id",
    ARC_ID,
    "--storage-endpoint",
    "https://ashacct.blob.local.azurestack.external",
    "--container",
    "edge-train",
    "--acr",
    "edgetrainacr",
    "--github-repo",
    "me/edge-train",
]


def no_client(settings):
    raise AssertionError("doctor must not contact the workspace when the config is incomplete")


def test_doctor_on_a_fresh_clone_names_the_missing_config_and_credentials(clone: Path) -> None:
    (clone / "edge-train.toml").unlink(missing_ok=True)  # a fork that adopted its table has names only
    checks = {check.name: check for check in run_checks(clone, {}, False, no_client)}

    assert checks["config"].status == "fail" and "edge-train init" in checks["config"].fix
    assert checks["azure login"].status == "fail"
    assert (
        checks["storage credential"].status == "fail"
        and "EDGE_TRAIN_STORAGE_SAS" in checks["storage credential"].fix
    )
    assert checks["reachability"].status == "skip"


def test_after_a_partial_init_doctor_lists_exactly_the_keys_still_missing(clone: Path) -> None:
    assert run_app(app, ["init", "--workspace", "edge-ws", "--resource-group", "edge-rg"]) == 0

    failed = {c.name: c for c in run_checks(clone, {}, False, no_client) if c.status == "fail"}

    assert {
        "azure.subscription_id",
        "azure.tenant_id",
        "azure.client_id",
        "azure.arc_cluster_id",
        "azure.acr",
        "storage.blob_endpoint",
        "storage.container",
    } <= set(failed)
    assert "azure.workspace" not in failed and "azure.resource_group" not in failed
    assert failed["azure.arc_cluster_id"].fix == "edge-train init --arc-cluster-id <value>"


def test_a_complete_init_leaves_only_credentials_and_prints_the_oidc_commands(clone: Path, capsys) -> None:
    assert run_app(app, FULL) == 0
    out = capsys.readouterr().out

    settings = load_settings(clone)
    assert settings.azure.workspace == "edge-ws" and settings.image.registry == "edgetrainacr.azurecr.io"
    assert settings.storage.account == "ashacct"
    assert (
        "gh variable set AZURE_CLIENT_ID --repo me/edge-train --body 33333333-3333-3333-3333-333333333333"
        in out
    )
    assert '"subject": "repo:me/edge-train:ref:refs/heads/main"' in out
    assert '--role "AzureML Data Scientist"' in out
    failed = [c.name for c in run_checks(clone, {}, False, no_client) if c.status == "fail"]
    assert failed == ["azure login", "storage credential"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--acr", "EdgeTrainACR", "did you mean 'edgetrainacr'"),
        ("--storage-endpoint", "ashacct.blob.local.azurestack.external", "must start with https://"),
        ("--arc-cluster-id", "/subscriptions/abc/resourceGroups/rg", "connectedClusters"),
        ("--subscription-id", "my-subscription", "must be a GUID"),
    ],
)
def test_init_rejects_a_bad_value_with_the_fix_and_writes_nothing(
    clone: Path,
    capsys,
    option: str,
    value: str,
    message: str,
) -> None:
    settings = clone / "edge-train.toml"
    before = settings.read_bytes() if settings.exists() else None  # a fork's names it, the template has none
    assert run_app(app, ["init", option, value]) == 1

    err = capsys.readouterr().err
    assert message in err and "edge-train.toml" in err
    assert (settings.read_bytes() if settings.exists() else None) == before


def test_a_hand_edited_bad_value_is_reported_by_doctor_with_file_and_key(clone: Path) -> None:
    (clone / "edge-train.toml").write_text(
        '[storage]\nblob_endpoint = "ashacct.blob.local.azurestack.external"\n'
    )

    failed = {c.name: c for c in run_checks(clone, {}, False, no_client) if c.status == "fail"}

    assert "storage.blob_endpoint: must start with https://" in failed["storage.blob_endpoint"].detail


@pytest.mark.parametrize(
    ("line", "key", "fix"),
    [
        ('acr = "EdgeTrainACR"', "azure.acr", "did you mean 'edgetrainacr'"),
        ('arc_cluster_id = "ash-k3s"', "azure.arc_cluster_id", "az connectedk8s show --query id"),
        ('compute = "edge_k8s!"', "azure.compute", "letters, digits or '-'"),
    ],
)
def test_a_hand_edited_bad_azure_value_fails_config_with_file_key_and_fix(
    clone: Path, line: str, key: str, fix: str
) -> None:
    (clone / "edge-train.toml").write_text(f"[azure]\n{line}\n")

    (config,) = [c for c in run_checks(clone, {}, False, no_client) if c.name == "config"]

    assert config.status == "fail"
    assert f"edge-train.toml: {key}:" in config.detail and fix in config.detail
