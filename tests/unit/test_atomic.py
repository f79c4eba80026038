"""An interrupted write leaves the previous version in place, never a half-written artifact."""

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ml.atomic import TEMP_PREFIX, atomic_output_dir, atomic_write_text


def test_a_failed_folder_write_keeps_the_old_folder_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("v1")
    with pytest.raises(RuntimeError), atomic_output_dir(target) as out:
        (out / "half.txt").write_text("partial")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert [p.name for p in target.iterdir()] == ["old.txt"]


def test_a_successful_folder_write_replaces_the_old_folder(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("v1")
    with atomic_output_dir(target) as out:
        (out / "new.txt").write_text("v2")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_text_write_creates_parents_and_leaves_no_temp(tmp_path):
    atomic_write_text(tmp_path / "a" / "b.json", "{}")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.json"]


def test_a_folder_write_leaves_no_temp_inside_and_replaces_subfolders(tmp_path):
    target = tmp_path / "model"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "old.txt").write_text("v1")
    with atomic_output_dir(target) as out:
        (out / "sub").mkdir()
        (out / "sub" / "new.txt").write_text("v2")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["sub", "sub/new.txt"]


def test_a_killed_write_leaves_only_a_hidden_temp_that_the_next_write_removes(tmp_path):
    target = tmp_path / "model"
    (target / f"{TEMP_PREFIX}killed").mkdir(parents=True)
    (target / f"{TEMP_PREFIX}killed" / "half.txt").write_text("partial")
    with atomic_output_dir(target) as out:
        (out / "new.txt").write_text("v2")
    assert [p.name for p in target.iterdir()] == ["new.txt"]


# Run in a private mount namespace (unshare), so the tmpfs vanishes with the process: as root, or as a user
# where unprivileged user namespaces are allowed.
MOUNT_SCRIPT = """
import os, subprocess, sys
from pathlib import Path
from ml.atomic import atomic_output_dir
out = Path(sys.argv[1])
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(out)], check=True)
try:
    os.rename(out, out.with_name("renamed"))
    print("rename worked")
except OSError as exc:
    print("rename failed:", exc.errno)
with atomic_output_dir(out) as tmp:
    (tmp / "train.csv").write_text("rows")
print(sorted(p.name for p in out.iterdir()), os.path.ismount(out))
"""


def test_a_mount_point_output_cannot_be_renamed_but_is_written_into(tmp_path):
    """The Azure ML output folder is a mount point: renaming it fails with EBUSY, writing into it works."""
    out = tmp_path / "prepared"
    out.mkdir()
    unshare = shutil.which("unshare")
    namespace = [unshare or "unshare", "--mount", "--map-root-user"]
    command = [*namespace, sys.executable, "-c", MOUNT_SCRIPT, str(out)]
    probe = (
        subprocess.run([*namespace, "true"], capture_output=True, text=True, check=False) if unshare else None
    )
    if probe is None or probe.returncode != 0:
        reason = "needs `unshare` with mount namespaces (root, or unprivileged user namespaces)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: {probe.stderr if probe else 'unshare not found'}")
        pytest.skip(reason)
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[2], timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"rename failed: {errno.EBUSY}", "['train.csv'] True"]
