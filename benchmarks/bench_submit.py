"""What `edge-train submit` costs before any byte reaches Azure: building the job, listing the snapshot.

azure-ai-ml lists the snapshot of each component's `code:` folder by walking every file under it and testing
each against `.amlignore`; ignored folders are not pruned. A developer checkout with `.venv/` inside therefore
pays for every file of the virtualenv, once per component, although none of them is uploaded. Baseline: the
same listing on a fresh clone (tracked files only), measured in the same run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3


def _best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _snapshot_files(folder: Path) -> list:
    from azure.ai.ml._utils._asset_utils import get_ignore_file, get_upload_files_from_folder

    return get_upload_files_from_folder(folder, ignore_file=get_ignore_file(folder))


def _fresh_clone(target: Path) -> Path:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in listed.stdout.split():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def run() -> str:
    from ml.azure.job import build_pipeline_job
    from ml.config import Settings

    with tempfile.TemporaryDirectory() as scratch:
        clone = _fresh_clone(Path(scratch) / "clone")
        clone_files = len(_snapshot_files(clone))
        clone_s = _best(lambda: _snapshot_files(clone))
        checkout_files = len(_snapshot_files(ROOT))
        checkout_s = _best(lambda: _snapshot_files(ROOT))
        walked = sum(1 for path in ROOT.rglob("*") if path.is_file())
        build_s = _best(lambda: build_pipeline_job(ROOT, Settings(), Path("pipelines/train.yml")))
    components = len(list((ROOT / "components").glob("*.yml")))
    return "\n".join(
        [
            "## Submit: job build and code snapshot (`bench_submit`)",
            "",
            "| what | seconds (best of 3) | ratio vs fresh clone |",
            "| --- | ---: | ---: |",
            f"| snapshot listing, fresh clone ({clone_files} files uploaded) | {clone_s:.3f} | 1.0x |",
            f"| snapshot listing, this checkout ({checkout_files} files uploaded, {walked} walked) "
            f"| {checkout_s:.3f} | {checkout_s / clone_s:.0f}x |",
            f"| build the job from pipelines/train.yml (offline) | {build_s:.3f} | - |",
            "",
            f"The SDK lists the snapshot at least once per component ({components} here), so a checkout with "
            f"`.venv/` inside adds at least {components * (checkout_s - clone_s):.0f} s to every submit. "
            "Submitting from CI (a fresh clone) avoids it; on a laptop, a virtualenv outside the repository "
            "does.",
        ]
    )
