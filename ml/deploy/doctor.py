"""`edge-train doctor`'s checks of each `[deploy.<name>]` target: what `deploy` would need, asked before it.

kubernetes: kubectl present and allowed to create Deployments in the namespace (only `--apply` needs it).
arc/cloud: endpoint and instance type set, a registry to pull from, the endpoint reachable (or absent, so
`deploy` creates it), the instance type on the attached cluster (arc), and the registry the workspace's
identity pulls from without a role assignment (its own ACR).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from ml.azure.doctor import Check
from ml.config import DeployTarget, Settings
from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient


def deploy_checks(settings: Settings, client_factory: Callable[[Settings], MLClient] | None) -> list[Check]:
    """One or more checks per target; Azure probes only with a client (workspace and login are OK)."""
    checks: list[Check] = []
    for name, target in sorted(settings.deploy.items()):
        label = f"deploy.{name}"
        if target.kind == "kubernetes":
            checks.append(kubectl_check(label, target))
            continue
        offline = _offline_problem(name, target, settings)
        if offline:
            checks.append(Check(label, "fail", offline.message, offline.hint or ""))
            continue
        if client_factory is None:
            checks.append(Check(label, "skip", "", "workspace names and an Azure login are needed first"))
            continue
        checks += azure_checks(label, settings, target, client_factory(settings))
    return checks


def _offline_problem(name: str, target: DeployTarget, settings: Settings) -> EdgeTrainError | None:
    from ml.deploy.targets import require_azure_fields, require_registry

    try:
        require_azure_fields(name, target)
        require_registry(name, settings.image.registry)
    except EdgeTrainError as exc:
        return exc
    return None


def kubectl_check(label: str, target: DeployTarget) -> Check:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return Check(
            label, "skip", "", "kubectl is not installed: deploy writes manifests; --apply needs kubectl"
        )
    context = ["--context", target.kubectl_context] if target.kubectl_context else []
    command = [kubectl, *context, "--request-timeout=10s", "auth", "can-i", "create", "deployments"]
    try:
        result = subprocess.run(
            [*command, "--namespace", target.namespace],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Check(label, "fail", "the cluster did not answer kubectl in 20 s", "check kubectl_context")
    if result.stdout.strip() == "yes":
        return Check(label, "ok", f"kubectl may create deployments in namespace {target.namespace}")
    reason = (result.stderr.strip().splitlines() or [result.stdout.strip() or "no"])[-1]
    return Check(
        label,
        "fail",
        f"kubectl cannot create deployments in namespace {target.namespace}: {reason}",
        "set kubectl_context in [deploy.<name>] to a context with rights on the namespace",
    )


def azure_checks(label: str, settings: Settings, target: DeployTarget, client: MLClient) -> list[Check]:
    from azure.core.exceptions import AzureError

    from ml.deploy.azureml import check_instance_type, existing_endpoint, traffic_holder

    checks = []
    try:
        endpoint = existing_endpoint(client, target.endpoint)
    except AzureError as exc:
        return [Check(label, "fail", str(exc).splitlines()[0], "check your role on the workspace")]
    if endpoint is None:
        checks.append(Check(label, "ok", f"endpoint {target.endpoint} does not exist yet; deploy creates it"))
    else:
        serving = traffic_holder(endpoint) or "no deployment"
        checks.append(Check(label, "ok", f"endpoint {target.endpoint} reachable, traffic on {serving}"))
    if target.kind == "arc":
        try:
            check_instance_type(client, settings, target)
            checks.append(
                Check(f"{label} instance type", "ok", f"{target.instance_type} exists on the cluster")
            )
        except EdgeTrainError as exc:
            checks.append(Check(f"{label} instance type", "fail", exc.message, exc.hint or ""))
    checks.append(_pull_check(label, settings, client))
    return checks


def _pull_check(label: str, settings: Settings, client: MLClient) -> Check:
    """The workspace's identity pulls from the workspace's own ACR; any other registry needs AcrPull."""
    registry = settings.image.registry.split("/")[0]
    acr_name = registry.removesuffix(".azurecr.io")
    workspace = client.workspaces.get(settings.azure.workspace)
    own = (getattr(workspace, "container_registry", "") or "").rsplit("/", 1)[-1]
    if own and own.lower() == acr_name.lower():
        return Check(f"{label} registry", "ok", f"{registry} is the workspace's registry: its identity pulls")
    return Check(
        f"{label} registry",
        "fail",
        f"{registry} is not the workspace's registry ({own or 'none'}), so pulls need a role assignment",
        "az role assignment create --role AcrPull --assignee <workspace identity> --scope <the ACR's id>",
    )
