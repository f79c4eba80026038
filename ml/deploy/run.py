"""`edge-train deploy`: every check before anything changes, then the target's rollout.

Order: settings and target (offline, < 1 s) → the version (git tags: promoted?) → the image (the registry:
there, this model, the recorded digest) → the target. A refusal at any point leaves every target as it was.
"""

from __future__ import annotations

from pathlib import Path

from ml import console
from ml.config import load_settings
from ml.deploy import kubernetes, versions
from ml.deploy.image import verified_image
from ml.deploy.targets import choose_target, require_azure_fields, require_registry
from ml.errors import EdgeTrainError
from ml.release.image import check_image_name


def deploy(
    root: Path,
    ref: str | None,
    target_name: str | None,
    apply: bool = False,
    rollback: bool = False,
    ml_client=None,
) -> None:
    settings = load_settings(root)
    if not settings.deploy and not target_name:
        console.skipped("deploy", "edge-train.toml declares no \\[deploy.<name>] target (docs/deploy.md)")
        return
    name, target = choose_target(settings, target_name)
    check_image_name(settings.image.name, "v0.0.0")  # a settings mistake fails before git or the registry
    model = settings.model.name
    if target.kind != "kubernetes":
        require_azure_fields(name, target)
        require_registry(name, settings.image.registry)
    if rollback:
        if ref:
            raise EdgeTrainError("--rollback takes no version", hint="give either a version or --rollback")
        if target.kind == "kubernetes":
            current = kubernetes.current_version(root, name)
            tag = versions.previous(root, model, current or versions.resolve(root, None, model).version)
        else:
            from ml.deploy import azureml

            azureml.rollback(_client(root, ml_client), settings, name, target)
            return
    else:
        tag = versions.resolve(root, ref, model)
    pinned = verified_image(root, settings.image, tag)
    console.done(f"{tag.tag} is promoted and its image is in the registry ({pinned.digest[:19]})")
    if target.kind == "kubernetes":
        kubernetes.deploy(root, name, target, tag, pinned, apply)
        return
    from ml.deploy import azureml

    azureml.deploy(_client(root, ml_client), settings, name, target, tag, pinned)


def _client(root: Path, ml_client):
    if ml_client is not None:
        return ml_client
    from ml.azure.client import workspace_client

    return workspace_client(load_settings(root).azure)
