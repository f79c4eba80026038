"""The node's Python environment, built from the environment spec as the SDK serializes it, and nothing else.

Azure ML receives the environment as text (`Environment._to_rest_object()`: the image name and the conda
file's *content*) and builds the image from that alone, far from the repository. So a `-r file`, `-e path`,
`-c file` or any local path in the pip list cannot work there; the emulator refuses them before installing.
An unpinned base image (`:latest` or no tag) is refused too: the job would change under the same commit.

What can be emulated is the pip section: it is installed with uv into a fresh virtualenv made in an empty
folder (no access to the repository or its `.venv`), for the Python version the conda spec names. Other conda
packages would need conda; they are refused with a message saying so. Built environments are cached by the
hash of the spec text, so repeated runs reuse them (folder: `$EDGE_TRAIN_EMULATOR_CACHE` or
`~/.cache/edge-train/emulator`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_PATH_LIKE = re.compile(r"^(\.{1,2}(/|$)|/|~|file:)")
REQS = "../requirements.txt"
_REFUSED_OPTIONS = ("-r", "--requirement", "-e", "--editable", "-c", "--constraint")


class EnvironmentRefused(RuntimeError):
    """The environment spec cannot be built by the service (or by this emulator); the message says why."""


@dataclass(frozen=True)
class EnvironmentSpec:
    """What the service receives: the image reference, the conda file's text, the build context (if any)."""

    image: str | None
    conda_text: str | None
    build_context: str | None

    @property
    def digest(self) -> str:
        text = f"{self.image}\n{self.conda_text}\n{self.build_context}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def serialized_spec(component: Any) -> EnvironmentSpec:
    """The spec as the SDK sends it (REST object of the component's environment)."""
    environment = component.environment
    if isinstance(environment, str):
        raise EnvironmentRefused(f"environment {environment!r} is a registered asset: not emulated")
    rest = environment._to_rest_object().properties
    build = getattr(rest, "build", None)
    return EnvironmentSpec(
        image=rest.image, conda_text=rest.conda_file, build_context=getattr(build, "context_uri", None)
    )


def problems(spec: EnvironmentSpec) -> list[str]:
    """Why the service could not build this spec (empty when it can)."""
    found = []
    if spec.build_context:
        found.append("a Docker build context is not emulated yet (only image + conda file)")
    if spec.image:
        name = spec.image.rsplit("/", 1)[-1]
        if "@sha256:" not in spec.image and (":" not in name or name.endswith(":latest")):
            found.append(f"base image {spec.image} is not pinned (use a version tag or @sha256 digest)")
    for entry in _pip_entries(spec):
        option = entry.split()[0] if entry.split() else entry
        if option in _REFUSED_OPTIONS or any(entry.startswith(o + "=") for o in _REFUSED_OPTIONS):
            found.append(
                f"pip entry {entry!r}: Azure ML builds the image from this text alone, the file or folder "
                "it names does not exist there"
            )
        elif _PATH_LIKE.match(entry):
            found.append(
                f"pip entry {entry!r} is a local path: Azure ML builds the image from the text alone"
            )
    for dependency in _conda_dependencies(spec):
        if isinstance(dependency, str) and not re.match(r"^(python|pip)([=<> ].*)?$", dependency):
            found.append(f"conda package {dependency!r}: only the pip section is emulated (move it to pip:)")
    return found


def _conda(spec: EnvironmentSpec) -> dict[str, Any]:
    if not spec.conda_text:
        return {}
    loaded = yaml.safe_load(spec.conda_text)
    return loaded if isinstance(loaded, dict) else {}


def _conda_dependencies(spec: EnvironmentSpec) -> list[Any]:
    return list(_conda(spec).get("dependencies") or [])


def _pip_entries(spec: EnvironmentSpec) -> list[str]:
    entries: list[str] = []
    for dependency in _conda_dependencies(spec):
        if isinstance(dependency, dict):
            entries += [str(e).strip() for e in dependency.get("pip") or []]
    return entries


def python_version(spec: EnvironmentSpec) -> str:
    for dependency in _conda_dependencies(spec):
        if isinstance(dependency, str) and dependency.startswith("python"):
            version = re.sub(r"^python\s*=*\s*", "", dependency).strip()
            if version:
                return version
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def cache_root() -> Path:
    configured = os.environ.get("EDGE_TRAIN_EMULATOR_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "edge-train" / "emulator"


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        raise EnvironmentRefused("uv not found: install the dev tools (make .venv/.dev)")
    return found


def build_environment(spec: EnvironmentSpec, log: Path | None = None) -> Path:
    """The virtualenv for `spec` (built once, then reused); raises EnvironmentRefused with every problem."""
    refused = problems(spec)
    if refused:
        raise EnvironmentRefused("; ".join(refused))
    target = cache_root() / "envs" / spec.digest
    complete = target / ".complete"  # written last: a half-built environment is never used
    if complete.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as building:
        work = Path(building)
        (work / "empty").mkdir()  # the build runs here: nothing of the repository is reachable by a path
        (work / "requirements.txt").write_text("\n".join(_pip_entries(spec)) + "\n")
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
        environ["UV_PYTHON_DOWNLOADS"] = "never"  # interpreters come from this machine, not GitHub
        _create_venv(target, python_version(spec), work / "empty", environ, log)
        install = [_uv(), "pip", "install", "-q", "--python", str(target / "bin" / "python"), "-r", REQS]
        _run(install, work / "empty", environ, log, target)
    complete.write_text(spec.conda_text or "")
    return target


def _run(command: list[str], cwd: Path, environ: dict[str, str], log: Path | None, target: Path) -> None:
    result = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=900)
    if log is not None:
        with log.open("a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise EnvironmentRefused(
            f"installing the pip section failed ({result.returncode}): {result.stderr.strip()[-800:]}"
        )


def _create_venv(target: Path, version: str, cwd: Path, environ: dict[str, str], log: Path | None) -> None:
    """A virtualenv for `version`; an exact patch release this machine lacks falls back to its minor version.

    conda would install the exact interpreter in the image; here only the installed ones exist, and a patch
    release does not change what the steps compute. The fallback is written to the build log.
    """
    command = [_uv(), "venv", "-q", "--python", version, str(target)]
    probe = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=300)
    if probe.returncode == 0:
        return
    minor = ".".join(version.split(".")[:2])
    if minor == version:
        _run(command, cwd, environ, log, target)
        return
    if log is not None:
        with log.open("a", encoding="utf-8") as out:
            out.write(f"python {version} is not installed here: using {minor}\n")
    _run([_uv(), "venv", "-q", "--python", minor, str(target)], cwd, environ, log, target)
