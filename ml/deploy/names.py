"""Shape checks for the names a deployment uses, so a typo fails offline with the fix, not in a cluster.

Each `check_*` returns the value or raises `ValueError` (pydantic turns it into `file: key: message`).
"""

from __future__ import annotations

import re

# Azure ML online endpoint and deployment names: a letter first, then letters, digits and '-', 3-32 long.
_AZUREML = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
# A Kubernetes DNS-1123 label: namespaces, Deployment and Service names.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_endpoint(value: str) -> str:
    if value and not _AZUREML.match(value):
        raise ValueError("must be 3-32 letters, digits or '-', starting with a letter and not ending in '-'")
    return value


def check_dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError("must be a DNS label: up to 63 lowercase letters, digits or '-', e.g. edge-models")
    return value


def k8s_name(model: str) -> str:
    """The Deployment/Service name for a model name (GTO names may hold '/', '_' and capitals)."""
    name = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")[:63].rstrip("-")
    return name or "model"


def deployment_name(version: str) -> str:
    """The Azure ML deployment serving `vX.Y.Z`: `v1-2-0` (dots are not allowed in deployment names)."""
    return version.replace(".", "-")
