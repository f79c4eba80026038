"""The one-line answers to local faults, and the sweep of what a killed write left (issue 15).

tests/integration/test_local_faults.py reproduces each fault end to end; these pin the rules themselves.
"""

from __future__ import annotations

import errno
from pathlib import Path

from dvc.exceptions import DvcException

from ml.atomic import TEMP_PREFIX, atomic_write_text, sweep_leftovers
from ml.dvc import disk_error
from ml.release.image import unreachable_registry


def wrapped(error: OSError) -> DvcException:
    """An OSError as DVC reports it: under its own exception, as the cause of a cause."""
    try:
        try:
            raise error
        except OSError as exc:
            raise RuntimeError("failed to transfer") from exc
    except RuntimeError as exc:
        outer = DvcException("failed to reproduce 'evaluate'")
        outer.__cause__ = exc
        return outer


def test_a_folder_we_may_not_write_is_named_with_the_fix(tmp_path: Path) -> None:
    exc = wrapped(PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "reports" / "m.json")))
    error = disk_error(exc, tmp_path)
    assert error is not None
    assert error.message.startswith("reports/ is not writable") and "dvc.lock" in error.message
    assert "chmod -R u+w reports" in error.hint


def test_a_full_disk_names_where_the_copy_was_going_and_how_to_free_space(tmp_path: Path) -> None:
    cache = tmp_path / ".dvc" / "cache" / "files" / "x.tmp"
    exc = wrapped(
        OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "m.json"), None, str(cache))
    )
    error = disk_error(exc, tmp_path)
    assert error is not None
    assert "no space left on the disk holding .dvc/cache/files" in error.message
    assert "dvc gc" in error.hint


def test_a_full_disk_without_a_path_still_names_the_cache(tmp_path: Path) -> None:
    error = disk_error(wrapped(OSError(errno.ENOSPC, "No space left on device")), tmp_path)
    assert error is not None and ".dvc/cache" in error.message


def test_other_failures_keep_dvcs_own_message(tmp_path: Path) -> None:
    assert disk_error(DvcException("stage 'train' failed"), tmp_path) is None
    assert disk_error(wrapped(OSError(errno.ENOENT, "No such file")), tmp_path) is None


def test_an_unreachable_base_registry_is_one_short_reason() -> None:
    buildah = (
        "Error: creating build container: initializing source docker://python:3.11-slim: pinging container "
        'registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
        "registry-1.docker.io on 10.255.255.53:53: no such host"
    )
    assert unreachable_registry(buildah) == "registry-1.docker.io is unreachable (no such host: offline?)"
    refused = 'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused'
    assert unreachable_registry(refused) == "127.0.0.1:5000 is unreachable (connection refused)"
    assert unreachable_registry("Error: building at STEP RUN: exit status 1") is None


def test_the_sweep_removes_temp_names_only_at_any_depth(tmp_path: Path) -> None:
    (tmp_path / "artifacts" / "model" / f"{TEMP_PREFIX}abc").mkdir(parents=True)
    (tmp_path / "artifacts" / "model" / f"{TEMP_PREFIX}abc" / "model.skops").write_text("half")
    (tmp_path / "reports" / "plots").mkdir(parents=True)
    (tmp_path / "reports" / "plots" / f"{TEMP_PREFIX}roc.json.x1.tmp").write_text("{")
    (tmp_path / "reports" / "plots" / "roc.json").write_text("{}")
    (tmp_path / "artifacts" / "model" / "MLmodel").write_text("kept")
    removed = sweep_leftovers(tmp_path, ("artifacts", "reports", "build"))
    assert removed == [
        f"artifacts/model/{TEMP_PREFIX}abc",
        f"reports/plots/{TEMP_PREFIX}roc.json.x1.tmp",
    ]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["MLmodel", "roc.json"]


def test_a_file_write_uses_the_temp_prefix_the_sweep_and_dvcignore_know(tmp_path: Path) -> None:
    from tests.conftest import REPO_ROOT

    atomic_write_text(tmp_path / "metrics.json", "{}")
    assert f"{TEMP_PREFIX}*" in (REPO_ROOT / ".dvcignore").read_text().splitlines()
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
