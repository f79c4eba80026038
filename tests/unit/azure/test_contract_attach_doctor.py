"""Contract tests: `azure attach` and doctor's workspace probes, as HTTP requests against a fake Azure."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.azure.attach import attach
from ml.azure.doctor import workspace_checks
from ml.config import Settings
from ml.errors import EdgeTrainError

from .fake_azure import FakeAzure

ARC_ID = (
    "/subscriptions/0a1b2c3d-0000-4000-8000-000000000001/resourceGroups/edge-rg/providers/"
    "Microsoft.Kubernetes/connectedClusters/ash-k3s"
)
SAS = "sv=2019-07-07&ss=b&sig=planted-sas-9c1e"


@pytest.fixture
def edge_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"azure": settings.azure.model_copy(update={"arc_cluster_id": ARC_ID})})


def test_attach_puts_the_arc_cluster_as_kubernetes_compute_and_the_stack_blob_as_datastore(
    clone: Path,
    edge_settings: Settings,
    fake_azure: FakeAzure,
    ml_client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDGE_TRAIN_STORAGE_SAS", SAS)

    attach(ml_client, clone, edge_settings)

    (compute,) = [r for r in fake_azure.requests if r.method == "PUT" and "/computes/" in r.path]
    assert compute.path.endswith("/computes/ash-k3s")
    assert compute.body["properties"]["computeType"] == "Kubernetes"
    assert compute.body["properties"]["resourceId"] == ARC_ID
    assert compute.body["properties"]["properties"]["namespace"] == "azureml"
    (datastore,) = [r for r in fake_azure.requests if r.method == "PUT" and "/datastores/" in r.path]
    body = datastore.body["properties"]
    assert datastore.path.endswith("/datastores/ash_blob")
    assert (body["accountName"], body["containerName"], body["endpoint"]) == (
        "ashacct",
        "edge-train",
        "local.azurestack.external",
    )
    assert body["credentials"] == {
        "credentialsType": "Sas",
        "secrets": {"secretsType": "Sas", "sasToken": SAS},
    }
    assert SAS not in "".join(p.read_text() for p in (clone / "infra").iterdir())


def test_attach_without_the_sas_says_how_to_provide_it_and_calls_nothing(
    clone: Path,
    edge_settings: Settings,
    fake_azure: FakeAzure,
    ml_client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EDGE_TRAIN_STORAGE_SAS", raising=False)

    with pytest.raises(EdgeTrainError, match="EDGE_TRAIN_STORAGE_SAS is not set"):
        attach(ml_client, clone, edge_settings)

    assert fake_azure.requests == []


def test_doctor_probes_workspace_compute_and_datastore(
    edge_settings: Settings, fake_azure: FakeAzure, ml_client
) -> None:
    fake_azure.on(
        "GET",
        r"/computes/ash-k3s$",
        lambda _: (
            200,
            {
                "id": "x/computes/ash-k3s",
                "name": "ash-k3s",
                "properties": {
                    "computeType": "Kubernetes",
                    "provisioningState": "Succeeded",
                    "resourceId": ARC_ID,
                    "properties": {"namespace": "azureml"},
                },
            },
            {},
        ),
    )

    checks = {check.name: check for check in workspace_checks(ml_client, edge_settings)}

    assert checks["workspace"].status == "ok"
    assert checks["compute"].status == "ok"
    assert checks["datastore"].status == "fail" and checks["datastore"].fix == "run `edge-train azure attach`"


def test_doctor_reports_a_compute_that_is_not_ready(
    edge_settings: Settings, fake_azure: FakeAzure, ml_client
) -> None:
    fake_azure.on(
        "GET",
        r"/computes/ash-k3s$",
        lambda _: (
            200,
            {
                "id": "x/computes/ash-k3s",
                "name": "ash-k3s",
                "properties": {
                    "computeType": "Kubernetes",
                    "provisioningState": "Failed",
                    "resourceId": ARC_ID,
                    "properties": {"namespace": "azureml"},
                },
            },
            {},
        ),
    )

    checks = {check.name: check for check in workspace_checks(ml_client, edge_settings)}

    assert checks["compute"].status == "fail" and "Failed" in checks["compute"].detail


def test_doctor_stops_at_a_workspace_it_may_not_read(
    edge_settings: Settings, fake_azure: FakeAzure, ml_client
) -> None:
    fake_azure.fail(
        "GET",
        r"/workspaces/edge-ws$",
        403,
        "AuthorizationFailed",
        "The client does not have "
        "authorization to perform action 'Microsoft.MachineLearningServices/workspaces/read'",
    )

    checks = list(workspace_checks(ml_client, edge_settings))

    assert [(c.name, c.status) for c in checks] == [("workspace", "fail")]
    assert "AuthorizationFailed" in checks[0].detail
