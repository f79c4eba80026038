"""The `kubernetes` target: manifests in deploy/<target>/, applied with the user's kubectl when asked.

Writing is atomic (the folder is replaced as a whole or not at all). `--apply` runs `kubectl apply`, waits
for the rollout (new pods must pass `/ping` before old ones go: the Deployment's own safe rollout), runs the
smoke test through `kubectl port-forward` and, when any of it fails, undoes the rollout so traffic returns to
the pods that served before.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ml import console
from ml.atomic import atomic_output_dir
from ml.config import DeployTarget
from ml.deploy import manifests
from ml.deploy.image import PinnedImage
from ml.deploy.names import k8s_name
from ml.deploy.portforward import port_forward
from ml.deploy.smoke import Endpoint, smoke_test
from ml.errors import EdgeTrainError
from ml.release.version import VersionTag

DEPLOY_DIR = "deploy"
ROLLOUT_TIMEOUT = "180s"


def manifest_dir(root: Path, target_name: str) -> Path:
    return root / DEPLOY_DIR / target_name


def current_version(root: Path, target_name: str) -> str:
    """The version the target's written manifests serve ("" before the first deploy)."""
    path = manifest_dir(root, target_name) / "deployment.yaml"
    return manifests.deployed_version(path.read_text()) if path.is_file() else ""


def deploy(
    root: Path, target_name: str, target: DeployTarget, tag: VersionTag, image: PinnedImage, apply: bool
) -> None:
    """Write (and apply) the manifests for `tag`; nothing changes when they already pin this image."""
    files = manifests.render(tag.name, tag.version, image.reference, target)
    folder = manifest_dir(root, target_name)
    kubectl = _kubectl(target) if apply else []
    unchanged = all((folder / n).is_file() and (folder / n).read_text() == t for n, t in files.items())
    where = folder.relative_to(root)
    if unchanged and not apply:
        console.skipped(f"write {where}/", f"it already deploys {tag.tag} ({image.digest[:19]})")
        return
    # Written to a temporary folder first: applied from there, moved in only when everything succeeded.
    with atomic_output_dir(folder) as tmp:
        for file_name, text in files.items():
            (tmp / file_name).write_text(text)
        if apply:
            _apply(kubectl, tmp, target, k8s_name(tag.name), tag.version)
    console.done(f"wrote {where}/ for {tag.tag} (image {image.reference})")
    if not apply:
        console.skipped("kubectl apply", "--apply was not given")


def _kubectl(target: DeployTarget) -> list[str]:
    path = shutil.which("kubectl")
    if not path:
        raise EdgeTrainError(
            "--apply needs kubectl, which is not installed",
            hint="install kubectl and point it at the cluster, or apply deploy/<target>/ yourself",
        )
    return [path, *(["--context", target.kubectl_context] if target.kubectl_context else [])]


def _apply(kubectl: list[str], folder: Path, target: DeployTarget, name: str, version: str) -> None:
    """kubectl apply, wait for the rollout, smoke-test the pods through a port-forward; undo the rollout
    when any of it fails, so the pods that served before keep serving."""
    kubectl = [*kubectl, "--namespace", target.namespace]
    _run([*kubectl, "apply", "-f", str(folder)], "kubectl apply", timeout=60)
    deployment = f"deployment/{name}"
    try:
        _run(
            [*kubectl, "rollout", "status", deployment, f"--timeout={ROLLOUT_TIMEOUT}"],
            "the rollout",
            timeout=240,
        )
        with port_forward(kubectl, deployment, manifests.PORT) as url:
            smoke_test(Endpoint.local(url), version)
    except EdgeTrainError as exc:
        subprocess.run(
            [*kubectl, "rollout", "undo", deployment], capture_output=True, timeout=60, check=False
        )
        raise EdgeTrainError(
            f"{exc.message}; rolled back, the pods that served before keep serving",
            hint=f"kubectl describe {deployment} and kubectl logs {deployment} show why",
        ) from None
    console.done(f"rolled out {deployment} in namespace {target.namespace}; smoke test passed")


def _run(command: list[str], what: str, timeout: float) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise EdgeTrainError(f"{what} did not finish in {timeout:.0f} s", hint="check the cluster") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise EdgeTrainError(
            f"{what} failed: {lines[-1] if lines else 'no error output'}",
            hint="check kubectl_context in [deploy.<name>] and your rights on the namespace",
        )
