"""The arc and cloud targets against Azure ML's REST contract: the real azure-ai-ml SDK, a loopback fake of
the service (fake_endpoints.py), and the rollout's promises — beside, smoke-tested, then traffic; on any
failure the traffic stays and the new deployment goes; rollback; the same version again changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ml.config import DeployTarget, Settings
from ml.deploy import azureml
from ml.deploy.image import PinnedImage
from ml.deploy.residency import check_target
from ml.deploy.smoke import synthetic_payload
from ml.errors import EdgeTrainError
from ml.release.version import VersionTag

from .fake_endpoints import FakeEndpoints

ARC = DeployTarget(kind="arc", endpoint="edge-scoring", instance_type="cpu-small")
CLOUD = DeployTarget(kind="cloud", endpoint="cloud-scoring", instance_type="Standard_DS3_v2")
REGISTRY = "edgetrainacr.azurecr.io"


def release(version: str) -> tuple[VersionTag, PinnedImage]:
    digest = "sha256:" + version.replace(".", "").replace("v", "").ljust(64, "0")
    reference = f"{REGISTRY}/edge-train/breast-cancer-classifier@{digest}"
    tag = VersionTag("breast-cancer-classifier", version, "c0ffee", {"model_hash": version})
    return tag, PinnedImage(reference, digest, f"{REGISTRY}/edge-train/breast-cancer-classifier:{version}")


@pytest.fixture
def service(fake_azure) -> Iterator[FakeEndpoints]:
    fake = FakeEndpoints(fake_azure)
    fake.install()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def arc_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"deploy": {"edge": ARC, "cloud": CLOUD}})


def deploy(client, settings: Settings, version: str, target: DeployTarget = ARC) -> None:
    azureml.deploy(client, settings, "edge", target, *release(version))


def test_the_first_version_gets_an_endpoint_on_the_cluster_and_all_traffic(ml_client, arc_settings, service):
    deploy(ml_client, arc_settings, "v1.0.0")
    endpoint = service.endpoints["edge-scoring"]
    assert endpoint["properties"]["compute"].endswith(f"/computes/{arc_settings.azure.compute}")
    assert service.traffic("edge-scoring") == {"v1-0-0": 100}
    assert service.scored and service.scored[0][0] == "v1-0-0"


def test_the_deployment_serves_the_pinned_image_with_payload_logging_off(ml_client, arc_settings, service):
    deploy(ml_client, arc_settings, "v1.0.0")
    put = service.deployments["edge-scoring"]["v1-0-0"]["properties"]
    assert put["endpointComputeType"] == "Kubernetes"
    assert put["appInsightsEnabled"] is False
    assert not put.get("dataCollector")
    assert put["instanceType"] == "cpu-small"
    environment = next(iter(service.environments.values()))["properties"]
    assert environment["image"] == release("v1.0.0")[1].reference
    routes = environment["inferenceConfig"]
    assert routes["readinessRoute"] == {"path": "/ping", "port": 8080}
    assert routes["scoringRoute"] == {"path": "/invocations", "port": 8080}


def test_a_new_version_is_smoke_tested_beside_the_current_one_before_it_takes_traffic(
    ml_client,
    arc_settings,
    service,
):
    deploy(ml_client, arc_settings, "v1.0.0")
    service.scored.clear()
    deploy(ml_client, arc_settings, "v1.1.0")
    assert service.scored[0][0] == "v1-1-0"  # routed by header while v1-0-0 still held the traffic
    assert service.scored[0][1] == synthetic_payload()  # a synthetic row of the schema, not a real one
    assert service.traffic("edge-scoring") == {"v1-1-0": 100}
    assert service.deployment_names("edge-scoring") == {"v1-0-0", "v1-1-0"}  # the previous one is kept


def test_only_the_previous_deployment_is_kept(ml_client, arc_settings, service):
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        deploy(ml_client, arc_settings, version)
    assert service.deployment_names("edge-scoring") == {"v1-1-0", "v1-2-0"}


def test_deploying_the_deployed_version_again_writes_nothing(ml_client, arc_settings, service):
    deploy(ml_client, arc_settings, "v1.0.0")
    writes = len(service.writes())
    deploy(ml_client, arc_settings, "v1.0.0")
    assert len(service.writes()) == writes


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("score-fails", "smoke test: .*/score answered HTTP 500"),
        ("pull-fails", "could not create deployment v1-1-0 .*ImagePullFailed"),
        ("quota", "could not create deployment v1-1-0 .*OutOfQuota"),
    ],
)
def test_a_failed_rollout_leaves_the_traffic_and_removes_the_new_deployment(
    ml_client,
    arc_settings,
    service,
    behaviour,
    message,
):
    deploy(ml_client, arc_settings, "v1.0.0")
    service.behaviour["v1-1-0"] = behaviour
    with pytest.raises(EdgeTrainError, match=message) as info:
        deploy(ml_client, arc_settings, "v1.1.0")
    assert service.traffic("edge-scoring") == {"v1-0-0": 100}
    assert service.deployment_names("edge-scoring") == {"v1-0-0"}
    assert "traffic" in info.value.message
    if behaviour == "quota":
        assert "quota" in info.value.hint


def test_rollback_returns_the_traffic_to_the_previous_version_after_smoke_testing_it(
    ml_client,
    arc_settings,
    service,
):
    deploy(ml_client, arc_settings, "v1.0.0")
    deploy(ml_client, arc_settings, "v1.1.0")
    service.scored.clear()
    azureml.rollback(ml_client, arc_settings, "edge", ARC)
    assert service.scored[0][0] == "v1-0-0"
    assert service.traffic("edge-scoring") == {"v1-0-0": 100}
    assert service.deployment_names("edge-scoring") == {"v1-0-0", "v1-1-0"}  # roll forward stays possible


def test_rollback_with_a_failing_previous_deployment_leaves_the_traffic(ml_client, arc_settings, service):
    deploy(ml_client, arc_settings, "v1.0.0")
    deploy(ml_client, arc_settings, "v1.1.0")
    service.behaviour["v1-0-0"] = "score-fails"
    with pytest.raises(EdgeTrainError, match="smoke test"):
        azureml.rollback(ml_client, arc_settings, "edge", ARC)
    assert service.traffic("edge-scoring") == {"v1-1-0": 100}


def test_rollback_without_a_previous_deployment_is_refused(ml_client, arc_settings, service):
    deploy(ml_client, arc_settings, "v1.0.0")
    with pytest.raises(EdgeTrainError, match="no previous deployment beside v1-0-0"):
        azureml.rollback(ml_client, arc_settings, "edge", ARC)


def test_a_cluster_without_the_instance_type_is_refused_before_any_write(ml_client, arc_settings, service):
    service.instance_types = {"gpu-large": {}}
    started = time.monotonic()
    with pytest.raises(
        EdgeTrainError, match=r"has no instance type 'cpu-small' \(it has: gpu-large\)"
    ) as info:
        deploy(ml_client, arc_settings, "v1.0.0")
    assert time.monotonic() - started < 10
    assert "instance_type" in info.value.hint
    assert service.writes() == []


def test_the_cloud_target_is_a_managed_endpoint_with_the_same_rollout(ml_client, arc_settings, service):
    deploy(ml_client, arc_settings, "v1.0.0", CLOUD)
    assert "compute" not in service.endpoints["cloud-scoring"]["properties"]
    put = service.deployments["cloud-scoring"]["v1-0-0"]
    assert put["properties"]["endpointComputeType"] == "Managed"
    assert put["sku"]["capacity"] == 1
    assert service.traffic("cloud-scoring") == {"v1-0-0": 100}


def test_deploy_check_finds_a_deployment_that_sends_payloads_to_the_cloud(
    ml_client,
    arc_settings,
    service,
    tmp_path,
):
    (tmp_path / "edge-train.toml").write_text(
        '[deploy.edge]\nkind = "arc"\nendpoint = "edge-scoring"\ninstance_type = "cpu-small"\n'
    )
    deploy(ml_client, arc_settings, "v1.0.0")
    check_target(tmp_path, "edge", ml_client)  # what deploy created passes
    service.deployments["edge-scoring"]["v1-0-0"]["properties"]["appInsightsEnabled"] = True
    with pytest.raises(EdgeTrainError, match="v1-0-0: app_insights_enabled"):
        check_target(tmp_path, "edge", ml_client)
