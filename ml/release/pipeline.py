"""The release after training: register → version → package (ONNX + build context) → build and push.

Each step is idempotent and says what it did or why it skipped. Re-running for the same trained model
creates no model version, no tag and no image digest; an unchanged run touches no heavy library.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from rich.markup import escape

from ml import console
from ml.config import Settings, load_settings
from ml.errors import EdgeTrainError
from ml.lineage import Lineage, read_lineage, uncommitted_inputs
from ml.paths import MODEL_DIR
from ml.release import image
from ml.state import read_state, update_state
from ml.tracking import PIPELINE_RUN_ENV

MODEL_HASH_LABEL = "io.github.edge-train.model-hash"


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    lineage: Lineage
    mlflow_version: str
    fields: dict[str, str] = field(default_factory=dict)  # what the version tag records

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def image_fields(self) -> dict[str, str]:
        """Lineage as flat strings: the image's /version answer."""
        fields = {key.removeprefix("edge_train."): value for key, value in self.lineage.tags().items()}
        return {**fields, "model": self.name, "version": self.version, "mlflow_version": self.mlflow_version}


def release(root: Path, push: bool = True) -> Release:
    """Everything after training that this machine allows; the one entry point `edge-train run` calls.

    The version tag comes last: it records the image digest the registry holds, and it is written only for
    a committed tree (a local run on uncommitted changes is trained and packaged, and says what to commit).
    """
    rel = plan_release(root)
    context = package(root, rel)
    if push:
        _publish(root, rel, context)
    else:
        console.skipped("build and push the image", "--no-push was given")
    if uncommitted := uncommitted_inputs(root):
        console.skipped(f"version {rel.ref}", _uncommitted_reason(uncommitted))
        return rel
    return tag_version(root, rel)


# The one way out of a skipped build, in the one line that reports it (on every run that skips it).
_RETRY = "the model is trained and versioned without it; `edge-train push` builds it when this is fixed"


def _publish(root: Path, rel: Release, context: Path) -> None:
    """Build and push. With no registry configured (the embedded default) a failure is reported and the run
    goes on: the model is trained, versioned and packaged. A configured registry that fails is an error."""
    try:
        push_image(root, rel, context, retry_failed_build=False)
    except EdgeTrainError as exc:
        if load_settings(root).image.registry:
            raise
        console.skipped("build the image into the OCI layout", f"{escape(exc.message)}; {_RETRY}")


def plan_release(root: Path, version: str | None = None) -> Release:
    """Register the model and decide its version (the existing one for these bytes, else the next); no tag."""
    from ml.lineage import model_hash
    from ml.pipeline_run import remove_leftovers
    from ml.release.portable import shipped_onnx
    from ml.release.register import azure_version_registered, register_local
    from ml.release.version import check_name, find_version, free_version, list_versions

    settings = load_settings(root)
    name = settings.model.name
    check_name(name)
    remove_leftovers(root)  # a killed step's temp files must not become part of the registered model
    shipped_onnx(root, model_hash(root))  # a failed or stale parity report refuses before any registry write
    ml_client = None
    if settings.target == "azure":  # checked before any registry write: missing settings refuse here
        from ml.release.register import azure_ml_client

        ml_client = azure_ml_client(root)
    mlflow_version = register_local(root)
    lineage = read_lineage(root, os.environ.get(PIPELINE_RUN_ENV))
    fields = {key.removeprefix("edge_train."): value for key, value in lineage.tags().items()}
    fields.update(mlflow_version=mlflow_version, signature_hash=signature_hash(root))
    if ml_client is not None:  # the workspace registry too, with the same lineage tags
        from ml.release.register import register_azure

        fields["azureml_version"] = register_azure(root, ml_client)
    elif azureml_version := azure_version_registered(root, name, lineage.model_hash):
        fields["azureml_version"] = azureml_version  # `edge-train register --target azure` ran before
    existing = find_version(root, name, lineage.model_hash)
    if existing and version and version != existing.version:
        raise EdgeTrainError(
            f"this model is already {existing.tag}; it cannot also be {name}@{version}",
            hint="retrain (new code, data or params) to get a new version",
        )
    if existing and existing.fields.get("pipeline_run") not in (None, lineage.pipeline_run):
        # The version names the run that first produced these bytes: re-running the release after another
        # job returned the same bytes is the same release, and must write the same build context and image.
        lineage = replace(lineage, pipeline_run=existing.fields["pipeline_run"])
        fields["pipeline_run"] = lineage.pipeline_run
    number = existing.version if existing else free_version(list_versions(root, name), fields, version)
    return Release(name, number, lineage, mlflow_version, fields)


def register_and_version(root: Path, version: str | None = None) -> Release:
    """`edge-train version`: plan and tag; refuses an uncommitted tree and a missing published image."""
    rel = plan_release(root, version)
    if uncommitted := uncommitted_inputs(root):
        raise EdgeTrainError(
            f"{rel.ref} would tag commit {rel.lineage.git_commit.removesuffix('-dirty')[:12]}, but "
            + _uncommitted_reason(uncommitted),
            hint=f"commit them (git add {' '.join(uncommitted[:5])} && git commit), then release again",
        )
    return tag_version(root, rel)


def tag_version(root: Path, rel: Release) -> Release:
    """Write the version tag on HEAD with the lineage and the digest of the image the registry holds."""
    from ml.release.version import create_version

    fields = dict(rel.fields)
    digest = published_digest(root, rel)
    if digest:
        fields["image_digest"] = digest
    elif load_settings(root).image.registry:
        raise EdgeTrainError(
            f"the registry holds no image for {rel.ref}, so it gets no version tag",
            hint="run `edge-train push` first (promotion needs the image the tag records)",
        )
    tag, created = create_version(root, rel.name, fields, rel.version)
    if created:
        console.done(f"tagged {tag} on {rel.lineage.git_commit[:12]} (GTO format: `gto show` lists it)")
    else:
        console.skipped(f"version {rel.name}", f"this model is already {tag}")
    return rel


def published_digest(root: Path, rel: Release) -> str | None:
    """The digest of `rel`'s image in the image registry (or OCI layout), asked there; None if it has none.

    An image under the version's tag that holds another model is an error: a tag never changes content.
    """
    settings = load_settings(root)
    if image.missing_tool() and not settings.image.registry:
        return None  # no skopeo here and no registry configured: nothing to ask
    dest = image.Destination.for_settings(root, settings.image.registry, settings.image.name, rel.version)
    with _credentials(settings) as authfile:
        found = image.remote_image(dest, authfile)
    if found is None:
        return None
    held = found["labels"].get(MODEL_HASH_LABEL)
    if held != rel.lineage.model_hash:
        raise EdgeTrainError(
            f"{dest.display} holds another model (identity {str(held)[:12]}) than {rel.ref} "
            f"({rel.lineage.model_hash[:12]})",
            hint="versions never change content: retrain to get the next version, or check [image] settings",
        )
    return str(found["digest"])


def _uncommitted_reason(files: list[str]) -> str:
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return f"the tree has uncommitted changes ({shown}): a version names the commit that trained its model"


def signature_hash(root: Path) -> str:
    """Hash of the model's input/output signature: a change means a major version (clients must change)."""
    mlmodel = yaml.safe_load((root / MODEL_DIR / "MLmodel").read_text())
    signature = yaml.safe_dump(mlmodel.get("signature", {}), sort_keys=True)
    return hashlib.sha256(signature.encode()).hexdigest()[:16]


def package(root: Path, rel: Release) -> Path:
    """The image build context for this release: the MLflow model, and the ONNX model the pipeline's export
    stage wrote when its parity report allows (read here, never recomputed: no data row is needed)."""
    from ml.release.portable import portable_model
    from ml.serving.context import CONTEXT_DIR, write_context

    onnx_model = portable_model(root, rel.lineage.model_hash)
    cached = read_state(root).get("packaged", {})
    context = root / CONTEXT_DIR
    wanted = {"ref": rel.ref, "model_hash": rel.lineage.model_hash, "onnx_hash": rel.lineage.onnx_hash}
    if cached == wanted and (context / "Dockerfile").is_file():
        console.skipped("write the image build context", f"{CONTEXT_DIR}/ already holds {rel.ref}")
        return context
    write_context(root, rel.image_fields(), onnx_model)
    update_state(root, packaged=wanted)
    console.done(
        f"wrote the image build context to {CONTEXT_DIR}/ "
        f"({'MLflow + ONNX model' if onnx_model else 'MLflow model only'})"
    )
    return context


def push_image(
    root: Path, rel: Release, context: Path, retry_failed_build: bool = True, required: bool = False
) -> str | None:
    """Build and push unless the destination already holds this context; return the manifest digest.

    `required` (the `edge-train push` command): a configured registry that this machine cannot build for is
    an error, not a skip, so a workflow step that should publish the image cannot pass without doing it.
    """
    from ml.serving.context import context_digest

    settings = load_settings(root)
    why_not = image.missing_tool()
    if why_not and required and settings.image.registry:
        raise _unpromoted(
            EdgeTrainError(
                f"cannot build the image for {settings.image.registry}: {why_not}",
                hint="run `edge-train push` where buildah and skopeo run as root (a self-hosted runner, or "
                "root in a container); the build context is in " + str(context),
            ),
            rel,
            root,
        )
    if why_not:
        console.skipped("build and push the image", f"{escape(why_not)}; the build context is in {context}")
        return None
    dest = image.Destination.for_settings(root, settings.image.registry, settings.image.name, rel.version)
    digest = context_digest(context, settings.image.base)
    failed = read_state(root).get("build_failed", {})
    if not retry_failed_build and failed.get("context_digest") == digest:
        console.skipped(
            "build and push the image",
            f"building these inputs failed before ({escape(failed['reason'])}); "
            f"{_without_image(rel, root)}; {_RETRY}",
        )
        return None
    with _credentials(settings) as authfile:
        try:
            existing = image.remote_image(dest, authfile)
        except EdgeTrainError as exc:
            raise _unpromoted(exc, rel, root) from None
        held = existing["labels"].get(MODEL_HASH_LABEL) if existing else None
        if existing and held != rel.lineage.model_hash:
            raise EdgeTrainError(
                f"{dest.display} already holds another model (identity {str(held)[:12]}), not "
                f"{rel.ref} ({rel.lineage.model_hash[:12]}); nothing was pushed",
                hint="versions never change content: retrain to get the next version, or check [image]",
            )
        if existing and existing["labels"].get(image.CONTEXT_LABEL) == digest:
            console.skipped(
                f"push {dest.display}", f"it already holds this image ({existing['digest'][:19]})"
            )
            return existing["digest"]
        builder = image.Buildah(root)
        try:
            image_id = builder.build(
                context,
                settings.image.base,
                _labels(root, rel, settings, digest),
                base_tls_verify=not _is_loopback(settings.image.base),
            )
        except EdgeTrainError as exc:
            update_state(root, build_failed={"context_digest": digest, "reason": exc.message})
            raise _unpromoted(exc, rel, root) from None
        try:
            pushed = builder.push(image_id, dest, authfile)
        except EdgeTrainError as exc:
            raise _unpromoted(exc, rel, root) from None
        finally:
            builder.remove(image_id)
    update_state(root, build_failed={})
    console.done(f"pushed {dest.display} ({pushed[:19]})")
    return pushed


def _labels(root: Path, rel: Release, settings: Settings, digest: str) -> dict[str, str]:
    return {
        "org.opencontainers.image.title": rel.name,
        "org.opencontainers.image.version": rel.version,
        "org.opencontainers.image.revision": rel.lineage.git_commit,
        "org.opencontainers.image.source": _source_url(root),
        "org.opencontainers.image.base.name": settings.image.base,
        MODEL_HASH_LABEL: rel.lineage.model_hash,
        image.CONTEXT_LABEL: digest,
    }


def _source_url(root: Path) -> str:
    """The origin remote without any user:token@ part: a CI clone URL may carry a secret."""
    result = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=root, capture_output=True, text=True, check=False
    )
    return re.sub(r"//[^/@]*@", "//", result.stdout.strip()) if result.returncode == 0 else ""


def _is_loopback(ref: str) -> bool:
    return ref.split("/")[0].split(":")[0] in ("localhost", "127.0.0.1")


def _unpromoted(exc: EdgeTrainError, rel: Release, root: Path) -> EdgeTrainError:
    """Say that `rel` has no published image, and what that means for promoting it."""
    return EdgeTrainError(f"{exc.message}; {_without_image(rel, root)}", hint=exc.hint)


def _without_image(rel: Release, root: Path) -> str:
    """With a registry, a version without its image cannot be promoted (`check_image_published`); with none
    configured (the local default) it can, and the message must not claim otherwise."""
    if load_settings(root).image.registry:
        return f"{rel.ref} stays unpromoted (no image was published for it)"
    return (
        f"{rel.ref} has no image (no [image] registry is configured, so `edge-train promote` marks it "
        "without one)"
    )


@contextlib.contextmanager
def _credentials(settings: Settings) -> Iterator[Path | None]:
    """An authfile for ACR (Entra ID token exchange); none for loopback registries or OCI layouts."""
    from ml.release.acr import acr_credentials, is_acr

    registry = settings.image.registry
    if not registry or not is_acr(registry):
        yield None
        return
    user, password = acr_credentials(registry)
    with image.registry_authfile(registry.split("/")[0], user, password) as path:
        yield path
