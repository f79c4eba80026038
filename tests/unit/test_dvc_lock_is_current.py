"""dvc.lock records the run that produced the committed metrics, so it must match the code in the repository.

A stale dvc.lock makes a fresh clone retrain on its first `make run` and leaves the fork with an unexpected
change to commit. After editing a step, run `make run` and commit dvc.lock with the new metrics.
"""

import hashlib

import yaml

from tests.conftest import REPO_ROOT


def _recorded_file_deps() -> list[tuple[str, str, str]]:
    lock = yaml.safe_load((REPO_ROOT / "dvc.lock").read_text())
    return [
        (stage, dep["path"], dep["md5"])
        for stage, entry in lock["stages"].items()
        for dep in entry.get("deps", [])
        if not dep["md5"].endswith(".dir") and not dep["path"].startswith(("artifacts/", "data/"))
    ]


def test_every_source_file_a_stage_depends_on_matches_its_hash_in_dvc_lock():
    stale = [
        f"{stage}: {path}"
        for stage, path, md5 in _recorded_file_deps()
        if hashlib.md5((REPO_ROOT / path).read_bytes()).hexdigest() != md5
    ]
    assert not stale, f"dvc.lock is stale for {stale}: run `make run` and commit dvc.lock"
