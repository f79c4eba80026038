"""The residency rule for deployments: no deployment sends scoring payloads to the cloud.

Azure ML can copy what a deployment receives and answers to the cloud in two ways: Application Insights
(`appInsightsEnabled`) and the model data collector (`dataCollector`; "we disable mdc when it's null", says
the REST reference). Both must be off. `edge-train deploy` checks the deployment it is about to create with
`payload_senders`, and `edge-train deploy --check` checks every deployment already on the endpoint with it.
"""

from __future__ import annotations

from pathlib import Path

from ml import console
from ml.errors import EdgeTrainError


def payload_senders(deployment) -> list[str]:
    """What in this azure-ai-ml `OnlineDeployment` would send payloads to the cloud (empty: nothing)."""
    found = []
    if getattr(deployment, "app_insights_enabled", False):
        found.append("app_insights_enabled")
    collector = getattr(deployment, "data_collector", None)
    if collector is not None:
        collections = getattr(collector, "collections", None) or {}
        enabled = [
            name for name, c in collections.items() if str(getattr(c, "enabled", "true")).lower() != "false"
        ]
        if enabled or not collections:
            found.append(f"data_collector ({', '.join(sorted(enabled)) or 'configured'})")
    return found


def require_no_senders(deployment, where: str) -> None:
    senders = payload_senders(deployment)
    if senders:
        raise EdgeTrainError(
            f"{where} would send scoring payloads to the cloud: {', '.join(senders)} is on",
            hint="turn off Application Insights and the data collector on the deployment (docs/deploy.md)",
        )


def check_target(root: Path, target_name: str | None, ml_client=None) -> None:
    """`deploy --check`: every deployment on the target's endpoint keeps payloads on the premises."""
    from ml.config import load_settings
    from ml.deploy.targets import choose_target, require_azure_fields

    settings = load_settings(root)
    name, target = choose_target(settings, target_name)
    if target.kind == "kubernetes":
        console.done(
            f"\\[deploy.{name}] is a kubernetes target: its pods send nothing anywhere (no telemetry)"
        )
        return
    require_azure_fields(name, target)
    if ml_client is None:
        from ml.azure.client import workspace_client

        ml_client = workspace_client(settings.azure)
    from ml.deploy.azureml import existing_endpoint

    if existing_endpoint(ml_client, target.endpoint) is None:
        console.done(f"endpoint {target.endpoint} does not exist yet: nothing is deployed, nothing is sent")
        return
    bad = []
    for deployment in ml_client.online_deployments.list(endpoint_name=target.endpoint):
        senders = payload_senders(deployment)
        if senders:
            bad.append(f"{deployment.name}: {', '.join(senders)}")
        else:
            console.done(f"deployment {deployment.name}: Application Insights and the data collector are off")
    if bad:
        raise EdgeTrainError(
            f"endpoint {target.endpoint} sends scoring payloads to the cloud ({'; '.join(bad)})",
            hint="redeploy with edge-train deploy (it turns both off), or turn them off in the studio",
        )
