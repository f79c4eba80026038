"""A small base image for the image tests, built without Docker Hub.

Layer 1: Debian minbase + python3 from the Debian mirror (mmdebstrap), cached under .tools/images/.
Layer 2: the serving packages (numpy, scikit-learn, skops, onnxruntime and their dependencies) copied from
this virtualenv, so the image's `pip`-less install step finds them and the build needs no PyPI either.
Both interpreters are CPython 3.11 on glibc, so the manylinux wheels' files work unchanged.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tarfile
from importlib import metadata
from pathlib import Path

from ml.serving.context import SERVING_PACKAGES
from tests.conftest import REPO_ROOT

CACHE = REPO_ROOT / ".tools" / "images"
SITE = "usr/local/lib/python3.11/dist-packages"


def minbase_tar() -> Path:
    """Debian bookworm minbase with python3, as a rootfs tarball (~3 min the first time, then cached)."""
    path = CACHE / "bookworm-minbase-python3.tar"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                "--include=python3",
                "--format=tar",
                "bookworm",
                str(tmp),
            ],
            check=True,
            capture_output=True,
        )
        tmp.rename(path)
    return path


def _closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = re.split(r"[\s;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        todo += [req for req in dist.requires or [] if "extra ==" not in req]
    return list(seen.values())


def deps_key() -> str:
    """Changes whenever a serving package or one of its dependencies changes version."""
    pins = sorted(f"{d.name}=={d.version}" for d in _closure(SERVING_PACKAGES))
    return hashlib.sha256(" ".join(pins).encode()).hexdigest()[:12]


def base_name() -> str:
    """The test base's name: a new lock file means a new base, never a stale one."""
    return f"localhost/edge-train-test-base:{deps_key()}"


def deps_tar() -> Path:
    """The serving packages and their dependencies from this virtualenv, as a layer tarball."""
    dists = _closure(SERVING_PACKAGES)
    path = CACHE / f"serving-deps-{deps_key()}.tar"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tarfile.open(tmp, "w") as tar:
        for dist in dists:
            for file in dist.files or []:
                source = Path(dist.locate_file(file)).resolve()
                if source.is_file() and ".." not in file.parts and "__pycache__" not in file.parts:
                    tar.add(source, arcname=f"{SITE}/{file.as_posix()}", recursive=False)
    tmp.rename(path)
    return path


def build_base(buildah: list[str], name: str) -> str:
    """Commit both layers as `name` in the given buildah storage; reused when already there."""
    if subprocess.run([*buildah, "inspect", "--type", "image", name], capture_output=True).returncode == 0:
        return name
    container = subprocess.run(
        [*buildah, "from", "scratch"], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        for layer in (minbase_tar(), deps_tar()):
            subprocess.run([*buildah, "add", container, str(layer), "/"], check=True, capture_output=True)
        subprocess.run(
            [*buildah, "config", "--env", "PATH=/usr/local/bin:/usr/bin:/bin", container], check=True
        )
        subprocess.run([*buildah, "commit", "--quiet", container, name], check=True, capture_output=True)
    finally:
        subprocess.run([*buildah, "rm", container], capture_output=True)
    return name
