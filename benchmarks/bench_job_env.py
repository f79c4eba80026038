"""The Azure ML job's environment (requirements-job.lock) against the project's (requirements.lock).

Both are installed with uv into empty virtual environments on this machine (wheels from uv's cache), the way
the image build installs the conda file's pip list: what is measured is what every job image carries.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"


def install(lock: str, where: Path) -> tuple[int, int, float]:
    """(packages, bytes on disk, seconds) of installing `lock` into a new venv at `where`."""
    subprocess.run([UV, "venv", "-q", "-p", sys.executable, str(where)], check=True)
    started = time.perf_counter()
    subprocess.run(
        [UV, "pip", "install", "-q", "--python", str(where / "bin" / "python"), "-r", str(ROOT / lock)],
        check=True,
    )
    seconds = time.perf_counter() - started
    listed = subprocess.run(
        [UV, "pip", "list", "--python", str(where / "bin" / "python"), "--format", "freeze"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    size = sum(p.stat().st_size for p in where.rglob("*") if p.is_file() and not p.is_symlink())
    return len(listed), size, seconds


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        full = install("requirements.lock", Path(tmp) / "full")
        job = install("requirements-job.lock", Path(tmp) / "job")
    mib = 2**20
    return "\n".join(
        [
            "## Job environment size (`bench_job_env`)",
            "",
            "| environment | packages | installed size | install from a warm cache |",
            "| --- | ---: | ---: | ---: |",
            f"| project (requirements.lock) | {full[0]} | {full[1] / mib:.0f} MiB | {full[2]:.1f} s |",
            f"| job (requirements-job.lock) | {job[0]} | {job[1] / mib:.0f} MiB | {job[2]:.1f} s |",
            f"| ratio job / project | {job[0] / full[0]:.2f} | {job[1] / full[1]:.2f} "
            f"| {job[2] / full[2]:.2f} |",
            "",
            "The job image carries no MLflow server, Flask, gunicorn, SQLAlchemy, matplotlib or azure-ai-ml "
            "(docs/opinions.md, 13). Sizes are site-packages plus the interpreter links uv creates.",
        ]
    )
