"""Build the model image without a daemon (buildah: vfs storage, chroot isolation) and push it.

Destinations: an OCI registry (`host[:port]`; loopback registries speak plain HTTP, ACR gets a token from
`ml.release.acr`) or, when none is configured, an OCI layout directory under build/oci. Before building we
ask the destination (skopeo) whether the tag already holds an image of the same context digest: if so,
nothing is built or pushed and the digest stays the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ml.errors import EdgeTrainError
from ml.paths import STATE_DIR

OCI_LAYOUT_DIR = "build/oci"
BUILDAH_DIR = f"{STATE_DIR}/buildah"
CONTEXT_LABEL = "io.github.edge-train.context-digest"
# An image name per the OCI distribution spec: lowercase path components, then an optional tag.
IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
# How registries (manifest/name unknown) and OCI layouts (no descriptor, no index.json) say "no such tag".
NOT_THERE = re.compile(r"manifest unknown|name unknown|not found|no descriptor found|no such file", re.I)
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Destination:
    """Where an image goes: `transport_ref` is what buildah/skopeo take (docker://… or oci:…)."""

    transport_ref: str
    display: str
    tls_verify: bool

    @classmethod
    def for_settings(cls, root: Path, registry: str, name: str, tag: str) -> Destination:
        check_image_name(name, tag)
        if not registry:
            layout = root / OCI_LAYOUT_DIR
            return cls(f"oci:{layout}:{name}:{tag}", f"{OCI_LAYOUT_DIR} ({name}:{tag})", True)
        host = registry.split("/")[0].split(":")[0]
        loopback = host in ("localhost", "127.0.0.1", "::1")
        return cls(f"docker://{registry}/{name}:{tag}", f"{registry}/{name}:{tag}", not loopback)


def check_image_name(name: str, tag: str) -> None:
    if not IMAGE_NAME.match(name):
        raise EdgeTrainError(
            f"edge-train.toml [image] name = {name!r} is not a valid image name",
            hint="use lowercase letters, digits, '.', '_', '-' and '/', e.g. team/model",
        )
    if not IMAGE_TAG.match(tag):
        raise EdgeTrainError(f"image tag {tag!r} is not valid", hint="tags are up to 128 of [A-Za-z0-9_.-]")


def missing_tool() -> str | None:
    """Why images can't be built and pushed here, or None when they can."""
    for tool, package in (("buildah", "buildah"), ("skopeo", "skopeo")):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install {package}; GitHub's Ubuntu runners have it)"
    if os.geteuid() != 0 and not _rootless_buildah_works():
        return (
            "buildah needs root, or a user-namespace range for this user: "
            "sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER"
        )
    return None


def _rootless_buildah_works() -> bool:
    """Non-root users build rootless when the kernel and /etc/subuid give a user namespace a range of ids.

    `buildah unshare` also succeeds with only the user's own id mapped, but then unpacking any base image
    fails ("insufficient UIDs or GIDs available in user namespace", a file owned by group 42 is enough):
    ask for the map and count the ids in it.
    """
    try:
        probe = subprocess.run(
            ["buildah", "unshare", "cat", "/proc/self/uid_map"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    if probe.returncode != 0:
        return False
    mapped = sum(int(line.split()[2]) for line in probe.stdout.splitlines() if len(line.split()) == 3)
    return mapped > 1


def remote_image(dest: Destination, authfile: Path | None = None) -> dict | None:
    """`{digest, labels}` of the image at the destination, or None when the tag does not exist there."""
    if dest.transport_ref.startswith("oci:") and not Path(dest.transport_ref.split(":")[1]).exists():
        return None
    cmd = ["skopeo", "inspect", f"--tls-verify={str(dest.tls_verify).lower()}", "--retry-times=0"]
    if authfile:
        cmd.append(f"--authfile={authfile}")
    result = subprocess.run(
        [*cmd, dest.transport_ref], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        if NOT_THERE.search(result.stderr):
            return None
        raise EdgeTrainError(
            f"cannot read {dest.display}: {_last_line(result.stderr)}",
            hint="check that the registry is running and reachable, and its credentials",
        )
    info = json.loads(result.stdout)
    return {"digest": info.get("Digest", ""), "labels": info.get("Labels") or {}}


class Buildah:
    """buildah with its own vfs storage (works in containers and as root here): .edge-train/buildah, or
    $EDGE_TRAIN_BUILDAH_STORAGE to share one store (and its cached base image) between checkouts."""

    def __init__(self, root: Path, storage: Path | None = None) -> None:
        self.storage = storage or Path(os.environ.get("EDGE_TRAIN_BUILDAH_STORAGE") or root / BUILDAH_DIR)

    def command(self, *args: str) -> list[str]:
        return [
            "buildah",
            "--root",
            str(self.storage / "root"),
            "--runroot",
            str(self.storage / "run"),
            "--storage-driver",
            "vfs",
            *args,
        ]

    def run(self, *args: str, what: str) -> str:
        result = subprocess.run(self.command(*args), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise EdgeTrainError(
                f"{what} failed: {unreachable_registry(result.stderr) or _last_line(result.stderr)}",
                hint="check [image] base/registry in edge-train.toml; nothing was pushed",
            )
        return result.stdout

    def build(self, context: Path, base: str, labels: dict[str, str], base_tls_verify: bool = True) -> str:
        """Build the context; return the image id. Labels double as OCI annotations on the manifest."""
        meta: list[str] = []
        for key, value in sorted(labels.items()):
            meta += ["--label", f"{key}={value}", "--annotation", f"{key}={value}"]
        with tempfile.TemporaryDirectory() as tmp:
            iid = Path(tmp) / "iid"
            self.run(
                "bud",
                "--isolation",
                "chroot",
                "--layers=false",
                "--timestamp",
                "0",
                "--pull=missing",
                f"--tls-verify={str(base_tls_verify).lower()}",
                "--build-arg",
                f"BASE={base}",
                "--iidfile",
                str(iid),
                *meta,
                str(context),
                what=f"building the image from {base}",
            )
            return iid.read_text().strip()

    def push(self, image_id: str, dest: Destination, authfile: Path | None = None) -> str:
        """Push and return the manifest digest the destination now holds."""
        with tempfile.TemporaryDirectory() as tmp:
            digestfile = Path(tmp) / "digest"
            args = [
                "push",
                f"--tls-verify={str(dest.tls_verify).lower()}",
                "--retry=0",
                "--digestfile",
                str(digestfile),
            ]
            if authfile:
                args.append(f"--authfile={authfile}")
            if dest.transport_ref.startswith("oci:"):
                Path(dest.transport_ref.split(":")[1]).parent.mkdir(parents=True, exist_ok=True)
            self.run(*args, image_id, dest.transport_ref, what=f"pushing to {dest.display}")
            return digestfile.read_text().strip()

    def remove(self, image_id: str) -> None:
        """Drop the built image from the vfs store (vfs keeps full copies of every layer)."""
        subprocess.run(self.command("rmi", "--force", image_id), capture_output=True, check=False)


@contextlib.contextmanager
def registry_authfile(registry: str, username: str, password: str) -> Iterator[Path]:
    """A containers-auth.json readable only by us, deleted afterwards: secrets never go on a command line."""
    import base64

    with tempfile.TemporaryDirectory(prefix="edge-train-auth.") as tmp:
        path = Path(tmp) / "auth.json"
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"auths": {registry: {"auth": token}}}, handle)
        yield path


# How buildah/skopeo (Go net/http) say a registry could not be reached: DNS, refused, routed nowhere, silent.
_UNREACHABLE = re.compile(
    r'(?:pinging container registry|Get "https?://)([^/"\s]+)[^\n]*?'
    r"(no such host|connection refused|network is unreachable|i/o timeout|no route to host)"
)


def unreachable_registry(stderr: str) -> str | None:
    """'registry-1.docker.io is unreachable (no such host: offline?)' instead of buildah's 300-character
    chain, when that is why it failed; None otherwise."""
    match = _UNREACHABLE.search(stderr)
    if match is None:
        return None
    host, reason = match.group(1).rstrip(":"), match.group(2)
    return f"{host} is unreachable ({reason}{': offline?' if reason == 'no such host' else ''})"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"
