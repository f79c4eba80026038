"""The kubernetes target on real parts: train → push to a loopback registry → promote → deploy writes
manifests that validate → the image they pin, pulled by digest and run as its manifests demand (non-root,
read-only root filesystem, a writable /tmp only), passes the smoke test `deploy` uses.

Slow (a real image build): `pytest -m slow`. Needs root, buildah, skopeo, docker-registry, mmdebstrap and
unshare (tests/tools/install.sh installs them); no Docker Hub, no PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ml.deploy.smoke import Endpoint, smoke_test
from ml.errors import EdgeTrainError
from ml.release.image import Buildah
from tests.conftest import REPO_ROOT, require_tool
from tests.harness.image_server import image_server
from tests.integration.release.base_image import base_name, build_base
from tests.integration.release.conftest import start_registry
from tests.integration.release.test_release_image import IMAGE, NAME, STORAGE, edge_train

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, address = start_registry(tmp_path_factory.mktemp("registry"))
    yield address
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, registry: str) -> Path:
    for tool in ("buildah", "skopeo", "mmdebstrap", "unshare"):
        require_tool(tool, f"apt-get install {tool} (or: make test-tools)")
    if os.geteuid() != 0:
        pytest.skip("buildah with vfs storage and chroot isolation needs root")
    build_base(Buildah(REPO_ROOT, STORAGE).command(), base_name())
    clone = tmp_path_factory.mktemp("checkout") / "repo"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(REPO_ROOT), str(clone)], check=True)
    for key, value in (("user.email", "ci@example.invalid"), ("user.name", "CI")):
        subprocess.run(["git", "config", key, value], cwd=clone, check=True)
    (clone / "edge-train.toml").write_text(
        f'[image]\nname = "{IMAGE}"\nregistry = "{registry}"\nbase = "{base_name()}"\n\n'
        '[deploy.onprem]\nkind = "kubernetes"\nnamespace = "models"\n'
    )
    edge_train(clone, "run")
    return clone


@pytest.fixture(scope="module")
def deployed(repo: Path) -> subprocess.CompletedProcess:
    edge_train(repo, "promote", f"{NAME}@v1.0.0")
    return edge_train(repo, "deploy", "--target", "onprem")


def manifests(repo: Path) -> dict[str, dict]:
    folder = repo / "deploy" / "onprem"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))}


def pinned_image(repo: Path) -> str:
    return manifests(repo)["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"]


def test_deploy_writes_manifests_that_validate(repo: Path, deployed) -> None:
    from kubernetes_validate import utils

    written = manifests(repo)
    assert set(written) == {"deployment.yaml", "service.yaml"}
    for document in written.values():
        utils.validate(document, utils.latest_version(), strict=True)


def test_the_manifests_pin_the_digest_the_registry_holds(repo: Path, deployed, registry: str) -> None:
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{registry}/{IMAGE}:v1.0.0"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert pinned_image(repo) == f"{registry}/{IMAGE}@{json.loads(inspected.stdout)['Digest']}"


@pytest.fixture(scope="module")
def served(repo: Path, deployed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The pinned image pulled by digest and run as the manifests say: user 65532, root filesystem
    read-only, /tmp an empty writable folder (a private mount namespace: nothing leaks to the host)."""
    work = tmp_path_factory.mktemp("served")
    layout = work / "oci"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            f"docker://{pinned_image(repo)}",
            f"oci:{layout}:x",
        ],
        check=True,
    )
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_text())
    rootfs = work / "rootfs"
    rootfs.mkdir()
    for layer in manifest["layers"]:
        with tarfile.open(_blob(layout, layer["digest"])) as tar:
            tar.extractall(rootfs, filter="tar")
    config = json.loads(_blob(layout, manifest["config"]["digest"]).read_text())["config"]
    user = config.get("User", "")
    assert user == "65532:65532", "the image must run as the non-root user the manifests declare"
    mount = shutil.which("mount") or "/usr/bin/mount"
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    script = (
        f"{mount} --bind {rootfs} {rootfs} && {mount} -o remount,bind,ro {rootfs} && "
        f"{mount} -t tmpfs -o size=64m tmpfs {rootfs}/tmp && "
        f"exec {chroot} --userspec={user} {rootfs} python3 /srv/model/server.py"
    )
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    env.update(kv.split("=", 1) for kv in config.get("Env", []) if kv.split("=", 1)[0] != "PORT")
    unshare = shutil.which("unshare") or "unshare"
    command = [unshare, "--mount", "--propagation", "private", "sh", "-c", script]
    with image_server(command, env, work / "server.log") as url:
        yield url


def _blob(layout: Path, digest: str) -> Path:
    algorithm, value = digest.split(":")
    return layout / "blobs" / algorithm / value


def test_the_deployed_image_passes_the_smoke_test_deploy_runs(served: str) -> None:
    smoke_test(Endpoint.local(served), "v1.0.0")


def test_the_smoke_test_fails_for_another_version(served: str) -> None:
    with pytest.raises(EdgeTrainError, match=r"/version says 'v1.0.0', not v2.0.0"):
        smoke_test(Endpoint.local(served), "v2.0.0")


def test_deploying_again_is_a_no_op(repo: Path, deployed) -> None:
    again = edge_train(repo, "deploy", "--target", "onprem")
    assert "it already deploys" in again.stdout
