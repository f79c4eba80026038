"""`edge-train doctor` checks each deploy target: what `deploy` would need, before it runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ml.config import DeployTarget, Settings
from ml.deploy.doctor import deploy_checks
from tests.unit.azure.fake_azure import REGION, SUBSCRIPTION, WORKSPACE, WORKSPACE_PATH

from .fake_endpoints import FakeEndpoints

ACR_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/edge-rg/providers/Microsoft.ContainerRegistry/registries"
)


@pytest.fixture
def service(fake_azure) -> Iterator[FakeEndpoints]:
    fake = FakeEndpoints(fake_azure)
    fake.install()
    fake.start()
    yield fake
    fake.stop()


def workspace_with_registry(fake_azure, acr: str) -> None:
    """The workspace as Workspaces - Get returns it, with its own container registry's resource id."""
    body = {
        "id": WORKSPACE_PATH,
        "name": WORKSPACE,
        "location": "westeurope",
        "properties": {"discoveryUrl": f"{REGION}/discovery", "containerRegistry": f"{ACR_ID}/{acr}"},
    }
    fake_azure.on("GET", rf"/workspaces/{WORKSPACE}$", lambda _: (200, body, {}))


def with_targets(settings: Settings, registry: str, **targets: DeployTarget) -> Settings:
    image = settings.image.model_copy(update={"registry": registry})
    return settings.model_copy(update={"deploy": targets, "image": image})


def by_name(checks) -> dict:
    return {check.name: check for check in checks}


def test_an_arc_target_on_a_ready_workspace_passes_every_check(settings, ml_client, fake_azure, service):
    workspace_with_registry(fake_azure, "edgeacr")
    edge = DeployTarget(kind="arc", endpoint="edge-scoring", instance_type="cpu-small")
    checks = by_name(
        deploy_checks(with_targets(settings, "edgeacr.azurecr.io", edge=edge), lambda s: ml_client)
    )
    assert {name: c.status for name, c in checks.items()} == {
        "deploy.edge": "ok",
        "deploy.edge instance type": "ok",
        "deploy.edge registry": "ok",
    }
    assert "does not exist yet; deploy creates it" in checks["deploy.edge"].detail


def test_a_missing_instance_type_and_a_foreign_registry_are_named_with_their_fix(
    settings, ml_client, fake_azure, service
):
    workspace_with_registry(fake_azure, "otheracr")
    service.instance_types = {"gpu": {}}
    edge = DeployTarget(kind="arc", endpoint="edge-scoring", instance_type="cpu-small")
    checks = by_name(
        deploy_checks(with_targets(settings, "edgeacr.azurecr.io", edge=edge), lambda s: ml_client)
    )
    assert checks["deploy.edge instance type"].status == "fail"
    assert "no instance type 'cpu-small' (it has: gpu)" in checks["deploy.edge instance type"].detail
    assert checks["deploy.edge registry"].status == "fail"
    assert "AcrPull" in checks["deploy.edge registry"].fix


def test_an_incomplete_azure_target_fails_offline(settings):
    cloud = DeployTarget(kind="cloud", endpoint="cloud-scoring")
    (check,) = deploy_checks(with_targets(settings, "edgeacr.azurecr.io", cloud=cloud), None)
    assert check.status == "fail" and "instance_type not set" in check.detail


def test_azure_targets_are_skipped_until_the_workspace_can_be_asked(settings):
    cloud = DeployTarget(kind="cloud", endpoint="cloud-scoring", instance_type="Standard_DS3_v2")
    (check,) = deploy_checks(with_targets(settings, "edgeacr.azurecr.io", cloud=cloud), None)
    assert check.status == "skip"


def test_a_kubernetes_target_without_kubectl_is_skipped_with_the_reason(settings, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    (check,) = deploy_checks(with_targets(settings, "", onprem=DeployTarget(kind="kubernetes")), None)
    assert check.status == "skip" and "--apply needs kubectl" in check.fix
