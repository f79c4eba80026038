"""The `arc` and `cloud` targets: Azure ML online endpoints serving the version's image as a custom container.

Why the image and not the registered model + an environment (docs/opinions.md): the image is the exact
artifact the release built, smoke-tested and pinned by digest; Azure ML's custom-container deployments
serve it with our own routes (`/ping`, `/invocations`), on a Kubernetes online endpoint (the attached Arc
cluster) and on a managed online endpoint alike. A model + environment would make Azure ML build another
image with another server from a conda file, which is not what was tested.

Safe rollout: the new version goes to its own deployment (`v1-2-0`) beside the current one, with no traffic;
it must provision (Azure ML probes `/ping`) and score one synthetic row through the endpoint's scoring URI
(routed to it by the `azureml-model-deployment` header); only then does it take all the traffic. On any
failure the traffic is not touched and the new deployment is deleted. The previous deployment stays, at 0 %,
for `--rollback`; older ones are deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ml import console
from ml.config import DeployTarget, Settings
from ml.deploy.image import PinnedImage
from ml.deploy.names import deployment_name
from ml.deploy.residency import require_no_senders
from ml.deploy.smoke import Endpoint, smoke_test
from ml.errors import EdgeTrainError
from ml.release.version import VersionTag

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

PORT = 8080  # the image's server (ml/serving/Dockerfile)
VERSION_TAG = "edge_train.version"
DIGEST_TAG = "edge_train.image_digest"
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"  # what the Azure ML extension creates when none is defined


def existing_endpoint(client: MLClient, name: str):
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return client.online_endpoints.get(name)
    except ResourceNotFoundError:
        return None


def build_deployment(target: DeployTarget, tag: VersionTag, image: PinnedImage):
    """The deployment for `tag`: the pinned image as a custom container, payload senders off."""
    from azure.ai.ml.entities import (
        Environment,
        KubernetesOnlineDeployment,
        ManagedOnlineDeployment,
    )

    route = {"port": PORT}
    environment = Environment(
        image=image.reference,
        inference_config={
            "liveness_route": {**route, "path": "/ping"},
            "readiness_route": {**route, "path": "/ping"},
            "scoring_route": {**route, "path": "/invocations"},
        },
    )
    kind = KubernetesOnlineDeployment if target.kind == "arc" else ManagedOnlineDeployment
    return kind(
        name=deployment_name(tag.version),
        endpoint_name=target.endpoint,
        environment=environment,
        instance_type=target.instance_type,
        instance_count=target.instance_count,
        app_insights_enabled=False,
        data_collector=None,
        tags={VERSION_TAG: tag.version, DIGEST_TAG: image.digest},
    )


def build_endpoint(settings: Settings, target: DeployTarget):
    from azure.ai.ml.entities import KubernetesOnlineEndpoint, ManagedOnlineEndpoint

    if target.kind == "arc":
        return KubernetesOnlineEndpoint(name=target.endpoint, compute=settings.azure.compute, auth_mode="key")
    return ManagedOnlineEndpoint(name=target.endpoint, auth_mode="key")


def check_instance_type(client: MLClient, settings: Settings, target: DeployTarget) -> None:
    """arc: the instance type must exist on the attached cluster (asked of the compute, before any write)."""
    from azure.core.exceptions import ResourceNotFoundError

    compute_name = settings.azure.compute
    try:
        compute = client.compute.get(compute_name)
    except ResourceNotFoundError:
        raise EdgeTrainError(
            f"compute {compute_name} is not in workspace {settings.azure.workspace}",
            hint="attach the Arc cluster first: edge-train azure attach",
        ) from None
    # The compute's KubernetesProperties as a dict (camelCase in azure-ai-ml 1.3x, snake_case before).
    properties = getattr(compute, "properties", None) or {}
    types = sorted(properties.get("instanceTypes") or properties.get("instance_types") or {})
    default = (
        properties.get("defaultInstanceType")
        or properties.get("default_instance_type")
        or DEFAULT_INSTANCE_TYPE
    )
    if target.instance_type in types or (not types and target.instance_type == default):
        return
    raise EdgeTrainError(
        f"cluster {compute_name} has no instance type {target.instance_type!r} "
        f"(it has: {', '.join(types) or default})",
        hint="set instance_type in [deploy.<name>] to one of those, or create it on the cluster "
        "(kubectl apply an InstanceType resource, docs/deploy.md)",
    )


def traffic_holder(endpoint) -> str:
    """The deployment with the most traffic ("" when none has any)."""
    traffic = {name: int(share) for name, share in (endpoint.traffic or {}).items() if int(share) > 0}
    return max(traffic, key=traffic.__getitem__) if traffic else ""


def deploy(
    client: MLClient,
    settings: Settings,
    target_name: str,
    target: DeployTarget,
    tag: VersionTag,
    image: PinnedImage,
) -> None:
    """Create the new deployment beside the current one, smoke-test it, then move the traffic."""
    new = build_deployment(target, tag, image)
    require_no_senders(new, f"deployment {new.name}")
    if target.kind == "arc":
        check_instance_type(client, settings, target)
    endpoint = existing_endpoint(client, target.endpoint)
    current = traffic_holder(endpoint) if endpoint is not None else ""
    if current == new.name and endpoint.traffic.get(current) == 100:
        held = client.online_deployments.get(name=current, endpoint_name=target.endpoint)
        if (held.tags or {}).get(DIGEST_TAG) == image.digest:
            console.skipped(f"deploy {tag.tag} to {target.endpoint}", "it already serves all its traffic")
            return
    if endpoint is None:
        endpoint = _create_endpoint(client, settings, target)
    _create_deployment(client, new, tag)
    try:
        _smoke(client, target.endpoint, new.name, tag, image)
    except EdgeTrainError as exc:
        _delete(client, new.name, target.endpoint)
        stays = current or "nothing"
        raise EdgeTrainError(
            f"{exc.message}; deployment {new.name} was removed and the traffic stays on {stays}",
            hint=exc.hint,
        ) from None
    _route_all(client, endpoint, new.name, keep=current)
    console.done(f"{tag.tag} serves all traffic of endpoint {target.endpoint} (deployment {new.name})")
    _prune(client, target.endpoint, keep={new.name, current})


def rollback(client: MLClient, settings: Settings, target_name: str, target: DeployTarget) -> None:
    """Give the traffic back to the deployment kept beside the current one, after smoke-testing it."""
    endpoint = existing_endpoint(client, target.endpoint)
    if endpoint is None:
        raise EdgeTrainError(f"endpoint {target.endpoint} does not exist", hint="deploy a version first")
    current = traffic_holder(endpoint)
    others = [d for d in client.online_deployments.list(endpoint_name=target.endpoint) if d.name != current]
    if not others:
        raise EdgeTrainError(
            f"endpoint {target.endpoint} has no previous deployment beside {current or 'nothing'}",
            hint="deploy a named version instead: edge-train deploy <version> --target " + target_name,
        )
    previous = others[-1]
    version = (previous.tags or {}).get(VERSION_TAG, previous.name)
    _smoke_only(client, target.endpoint, previous.name, version)
    _route_all(client, endpoint, previous.name, keep=current)
    console.done(f"rolled back endpoint {target.endpoint} to {version} (deployment {previous.name})")


def _create_endpoint(client: MLClient, settings: Settings, target: DeployTarget):
    endpoint = build_endpoint(settings, target)
    created = _wait(
        client.online_endpoints.begin_create_or_update(endpoint), f"creating endpoint {endpoint.name}"
    )
    console.done(f"created {target.kind} endpoint {target.endpoint}")
    return created


def _create_deployment(client: MLClient, deployment, tag: VersionTag) -> None:
    from azure.core.exceptions import HttpResponseError

    try:
        created = client.online_deployments.begin_create_or_update(deployment).result()
    except HttpResponseError as exc:
        _delete(client, deployment.name, deployment.endpoint_name)
        raise EdgeTrainError(
            f"Azure ML could not create deployment {deployment.name} of {tag.tag}: {_reason(exc)}; "
            "the traffic was not touched",
            hint=_fix_for(exc),
        ) from None
    state = getattr(created, "provisioning_state", None)
    state = str(getattr(state, "value", state) or "")  # an enum in the SDK; its str() is not the state
    if state.lower() != "succeeded":
        _delete(client, deployment.name, deployment.endpoint_name)
        raise EdgeTrainError(
            f"deployment {deployment.name} of {tag.tag} ended {state or 'without a state'}; "
            "it was removed and the traffic was not touched",
            hint="read its logs: az ml online-deployment get-logs (the image pull or /ping failed)",
        )
    console.done(f"created deployment {deployment.name} ({tag.tag}) with no traffic")


def _smoke(
    client: MLClient, endpoint_name: str, deployment: str, tag: VersionTag, image: PinnedImage
) -> None:
    """The deployment reports the image we asked for, then the shared smoke test through the scoring URI."""
    held = client.online_deployments.get(name=deployment, endpoint_name=endpoint_name)
    if (held.tags or {}).get(DIGEST_TAG) != image.digest:
        raise EdgeTrainError(
            f"smoke test: deployment {deployment} does not report image {image.digest[:19]}",
            hint="another deploy may be running against this endpoint; retry when it is done",
        )
    _smoke_only(client, endpoint_name, deployment, tag.version)


def _smoke_only(client: MLClient, endpoint_name: str, deployment: str, version: str) -> None:
    endpoint = client.online_endpoints.get(endpoint_name)
    key = client.online_endpoints.get_keys(endpoint_name).primary_key
    headers = {"Authorization": f"Bearer {key}", "azureml-model-deployment": deployment}
    smoke_test(Endpoint("", endpoint.scoring_uri, headers), version)
    console.done(f"smoke test passed on deployment {deployment} (one synthetic row scored)")


def _route_all(client: MLClient, endpoint, deployment: str, keep: str) -> None:
    endpoint.traffic = {deployment: 100, **({keep: 0} if keep and keep != deployment else {})}
    _wait(client.online_endpoints.begin_create_or_update(endpoint), f"moving traffic to {deployment}")


def _prune(client: MLClient, endpoint_name: str, keep: set[str]) -> None:
    for deployment in client.online_deployments.list(endpoint_name=endpoint_name):
        if deployment.name not in keep:
            _delete(client, deployment.name, endpoint_name)
            console.done(
                f"deleted deployment {deployment.name} (only the previous one is kept for --rollback)"
            )


def _delete(client: MLClient, deployment: str, endpoint_name: str) -> None:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        client.online_deployments.begin_delete(name=deployment, endpoint_name=endpoint_name).result()
    except ResourceNotFoundError:
        pass
    except HttpResponseError as exc:
        console.warn(f"could not delete deployment {deployment}: {_reason(exc)}; delete it in the studio")


def _wait(poller, what: str):
    from azure.core.exceptions import HttpResponseError

    try:
        return poller.result()
    except HttpResponseError as exc:
        raise EdgeTrainError(f"{what} failed: {_reason(exc)}", hint=_fix_for(exc)) from None


def _reason(exc) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or str(exc).splitlines()[0]
    return f"{code}: {message}" if code else message


def _fix_for(exc) -> str:
    code = str(getattr(getattr(exc, "error", None), "code", "") or "")
    if "quota" in code.lower():
        return "ask for more quota for the instance type, or lower instance_count in [deploy.<name>]"
    if code in ("ImageNotFound", "ImagePullFailed") or "image" in code.lower():
        return "the workspace identity needs AcrPull on the registry, and the image must be pushed"
    return "check the endpoint in the Azure ML studio; nothing else was changed"
