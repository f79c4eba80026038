"""The kubernetes target's manifests: valid Kubernetes objects, hardened, the image pinned by digest."""

from __future__ import annotations

import pytest
import yaml

from ml.config import DeployTarget
from ml.deploy.manifests import render

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"127.0.0.1:5000/edge-train/breast-cancer-classifier@{DIGEST}"


@pytest.fixture
def documents() -> dict[str, dict]:
    target = DeployTarget(kind="kubernetes", namespace="models", replicas=3, cpu="250m", memory="256Mi")
    files = render("breast-cancer-classifier", "v1.2.0", IMAGE, target)
    return {name: yaml.safe_load(text) for name, text in files.items()}


# The oldest Kubernetes the manifests promise to fit, and the newest schemas kubernetes-validate ships.
@pytest.mark.parametrize("kubernetes_version", ["1.29.0", None])
def test_every_manifest_validates_against_the_kubernetes_openapi_schemas(documents, kubernetes_version):
    from kubernetes_validate import utils

    version = kubernetes_version or utils.latest_version()
    for document in documents.values():
        utils.validate(document, version, strict=True)  # raises ValidationError naming the field


def test_an_invalid_manifest_is_caught_by_the_same_validation(documents):
    """The check above can fail: a misspelt field under strict validation is rejected."""
    from kubernetes_validate import utils

    broken = documents["deployment.yaml"]
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(utils.ValidationError):
        utils.validate(broken, utils.latest_version(), strict=True)


def test_the_pod_is_hardened_and_serves_the_image_by_digest(documents):
    pod = documents["deployment.yaml"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == IMAGE
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["automountServiceAccountToken"] is False
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/ping", "port": "http"}
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}


def test_the_rollout_keeps_serving_pods_until_the_new_ones_are_ready(documents):
    spec = documents["deployment.yaml"]["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["replicas"] == 3


def test_the_service_selects_the_deployments_pods(documents):
    service, deployment = documents["service.yaml"], documents["deployment.yaml"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["metadata"]["namespace"] == "models"
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "v1.2.0"
