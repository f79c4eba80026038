"""Kubernetes manifests for the model image: a Deployment and a Service, hardened by default.

The image is pinned by digest; the pod runs as the image's non-root user (65532) with a read-only root
filesystem, no privilege escalation, no capabilities and no service-account token; `/ping` gates readiness
and liveness; the rolling update never removes a ready pod before its replacement is ready. The tests
validate the output against the Kubernetes OpenAPI schemas (kubernetes-validate).
"""

from __future__ import annotations

import yaml

from ml.config import DeployTarget
from ml.deploy.names import k8s_name

PORT = 8080  # the image's scoring server (ml/serving/Dockerfile: PORT=8080, USER 65532)
USER_ID = 65532
VERSION_LABEL = "app.kubernetes.io/version"


def render(model: str, version: str, image_reference: str, target: DeployTarget) -> dict[str, str]:
    """File name → YAML text of each manifest."""
    name = k8s_name(model)
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "scoring"}
    labels = {**selector, VERSION_LABEL: version, "app.kubernetes.io/managed-by": "edge-train"}
    metadata = {"name": name, "namespace": target.namespace, "labels": labels}
    probe = {"httpGet": {"path": "/ping", "port": "http"}, "timeoutSeconds": 2}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": target.replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": USER_ID,
                        "runAsGroup": USER_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "model",
                            "image": image_reference,
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                            "env": [
                                {"name": "HOST", "value": "0.0.0.0"},
                                {"name": "PORT", "value": str(PORT)},
                            ],
                            "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
                            "readinessProbe": {**probe, "periodSeconds": 5},
                            "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
                            "resources": {
                                "requests": {"cpu": target.cpu, "memory": target.memory},
                                "limits": {"memory": target.memory},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return {"deployment.yaml": _yaml(deployment), "service.yaml": _yaml(service)}


def _yaml(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def deployed_version(text: str) -> str:
    """The version a written deployment.yaml serves ("" when unreadable)."""
    try:
        return (yaml.safe_load(text) or {}).get("metadata", {}).get("labels", {}).get(VERSION_LABEL, "")
    except yaml.YAMLError:
        return ""
