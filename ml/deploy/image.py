"""The version's image, asked of the registry: it must be there, hold this model, and match the digest the
release recorded. Deployments then pin it by digest, so a moved tag can never change what runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ml.config import ImageSettings
from ml.errors import EdgeTrainError
from ml.release import image
from ml.release.version import VersionTag
from ml.state import read_state

MODEL_HASH_LABEL = "io.github.edge-train.model-hash"


@dataclass(frozen=True)
class PinnedImage:
    """`reference` is what a cluster pulls: `<registry>/<name>@sha256:…` (no registry: an OCI layout)."""

    reference: str
    digest: str
    display: str


def recorded_digest(root: Path, tag: VersionTag) -> str:
    """The digest the release recorded for this version: its tag's `image_digest` field, else this
    checkout's record of its last push (`.edge-train/state.json`); "" when neither knows one."""
    if digest := tag.fields.get("image_digest"):
        return digest
    pushed = read_state(root).get("pushed") or {}
    return pushed.get("digest", "") if pushed.get("ref") == tag.tag else ""


def verified_image(root: Path, settings: ImageSettings, tag: VersionTag) -> PinnedImage:
    """Ask the registry for the version's image; refuse if it is missing, another model, or not the digest
    that was recorded when it was pushed."""
    dest = image.Destination.for_settings(root, settings.registry, settings.name, tag.version)
    with registry_auth(settings.registry) as authfile:
        found = image.remote_image(dest, authfile)
    if found is None:
        raise EdgeTrainError(
            f"{tag.tag} has no image in {dest.display}, so it cannot be deployed",
            hint=f"publish it first: edge-train push (on the commit of {tag.tag}); check [image] registry",
        )
    recorded = recorded_digest(root, tag)
    if recorded and found["digest"] != recorded:
        raise EdgeTrainError(
            f"{dest.display} holds {found['digest'][:19]}, not the {recorded[:19]} recorded for {tag.tag}",
            hint="the tag was overwritten in the registry: push the version again or investigate who did",
        )
    held = found["labels"].get(MODEL_HASH_LABEL)
    wanted = tag.fields.get("model_hash")
    if wanted and held != wanted:
        raise EdgeTrainError(
            f"{dest.display} holds model {str(held)[:12]}, not {tag.tag}'s model {wanted[:12]}",
            hint="the image under this tag is another model: push the version again from its commit",
        )
    repository = f"{settings.registry}/{settings.name}" if settings.registry else settings.name
    return PinnedImage(f"{repository}@{found['digest']}", found["digest"], dest.display)


@contextlib.contextmanager
def registry_auth(registry: str) -> Iterator[Path | None]:
    """An authfile for ACR (Entra ID token exchange, `ml.release.acr`); none for other registries."""
    from ml.release.acr import acr_credentials, is_acr

    if not registry or not is_acr(registry):
        yield None
        return
    user, password = acr_credentials(registry)
    with image.registry_authfile(registry.split("/")[0], user, password) as path:
        yield path
