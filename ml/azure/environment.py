"""The Azure ML job's environment, generated from requirements-job.lock: `python -m ml.azure.environment`.

Azure ML builds the job's image from what azure-ai-ml serialises: the base image and the *content* of the
conda file (`load_component(...).environment.conda_file`). Nothing else reaches the build, so the file lists
every package with an exact version and no `-r`, `-e` or path entry. The steps' own code is not installed: it
comes from the job's code snapshot (`code: ..`), where `python -m ml...` finds it in the working directory.

`requirements-job.lock` is the `job` dependency group of pyproject.toml resolved for the job's platform
(Linux x86_64, Python 3.11) with the versions of requirements.lock, so the edge trains with the same
scikit-learn, pandas and MLflow as a local run. `make lock` writes both; `--check` (pre-commit hook and a unit
test) fails when the conda file or a component's base image drifts from them.

Only the standard library is imported: the pre-commit hook runs this module without the project installed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

JOB_LOCK = "requirements-job.lock"
PROJECT_LOCK = "requirements.lock"
CONDA_FILE = "components/environment/conda.yml"
COMPONENTS = "components"
# Pinned by date tag (never :latest): the tags are listed in the image's release notes,
# https://github.com/Azure/AzureML-Containers/blob/master/images/openmpi4.1.0-ubuntu22.04/release-notes.md
BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20241202.v1"
PYTHON = "3.11.13"
PIP = "25.1.1"
PLATFORM = "x86_64-manylinux_2_28"
# azureml-mlflow 1.60.0 caps these below the project lock's versions; the job takes what it allows.
RELAXED = frozenset({"azure-storage-blob", "azure-storage-file-datalake", "python-dateutil", "pytz"})

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$")
IMAGE_LINE = re.compile(r"^(\s*image:\s*)(mcr\.microsoft\.com/azureml/\S+)\s*$", re.M)


def pins(lock_text: str) -> list[tuple[str, str]]:
    """(name, version) of every `name==version` line of a lock file, in file order; markers are refused."""
    found = []
    for line in lock_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if not match or match.group(3):
            raise ValueError(f"{JOB_LOCK}: not an exact, unconditional pin: {line!r} (run `make lock`)")
        found.append((match.group(1).lower(), match.group(2)))
    return found


def conda_text(lock_text: str) -> str:
    """The conda file for the job: Python and pip pinned, then every locked package, exactly."""
    lines = [
        f"# GENERATED from {JOB_LOCK} by `python -m ml.azure.environment` (`make lock`): do not edit.",
        "# Azure ML builds the job image from this text alone: exact pins, no paths, no -r or -e.",
        "name: edge-train-job",
        "channels: [conda-forge]",
        "dependencies:",
        f"  - python={PYTHON}",
        f"  - pip={PIP}",
        "  - pip:",
        *(f"      - {name}=={version}" for name, version in pins(lock_text)),
    ]
    return "\n".join(lines) + "\n"


def component_files(root: Path) -> list[Path]:
    return sorted((root / COMPONENTS).glob("*.yml"))


def drift(root: Path) -> list[str]:
    """What differs from the generated state: the conda file, and each component's base image."""
    problems = []
    lock = root / JOB_LOCK
    if not lock.is_file():
        return [f"{JOB_LOCK} is missing: run `make lock`"]
    conda = root / CONDA_FILE
    if not conda.is_file() or conda.read_text(encoding="utf-8") != conda_text(
        lock.read_text(encoding="utf-8")
    ):
        problems.append(
            f"{CONDA_FILE} is not generated from {JOB_LOCK}: run `python -m ml.azure.environment`"
        )
    for path in component_files(root):
        for image in IMAGE_LINE.findall(path.read_text(encoding="utf-8")):
            if image[1] != BASE_IMAGE:
                problems.append(
                    f"{path.relative_to(root)}: image {image[1]} is not {BASE_IMAGE}: "
                    "run `python -m ml.azure.environment`"
                )
    return problems


def write(root: Path) -> list[Path]:
    """Regenerate the conda file and the components' base image; return the files that changed."""
    changed = []
    text = conda_text((root / JOB_LOCK).read_text(encoding="utf-8"))
    targets = {root / CONDA_FILE: text}
    for path in component_files(root):
        current = path.read_text(encoding="utf-8")
        targets[path] = IMAGE_LINE.sub(lambda m: f"{m.group(1)}{BASE_IMAGE}", current)
    for path, new in targets.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != new:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def lock(root: Path, uv: str) -> None:
    """Resolve the `job` group into requirements-job.lock, held to requirements.lock's versions."""
    constraints = [
        f"{name}=={version}"
        for line in (root / PROJECT_LOCK).read_text(encoding="utf-8").splitlines()
        if (match := PIN.match(line.strip())) and not match.group(3)
        for name, version in [(match.group(1).lower(), match.group(2))]
        if name not in RELAXED
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(constraints) + "\n")
    try:
        python = PYTHON.rsplit(".", 1)[0]
        subprocess.run(
            [uv, "pip", "compile", "--group", "pyproject.toml:job", "--python-version", python,
             "--python-platform", PLATFORM, "-c", handle.name, "-q", "--no-header", "--no-annotate",
             "-o", JOB_LOCK],
            cwd=root, check=True,
        )  # fmt: skip
    finally:
        Path(handle.name).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the generated files drifted")
    parser.add_argument("--lock", action="store_true", help=f"re-resolve {JOB_LOCK} first (needs uv)")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        problems = drift(root)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1 if problems else 0
    if args.lock:
        lock(root, shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv")
    for path in write(root):
        print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
