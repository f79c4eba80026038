"""Storage server stopped mid-transfer: a re-run completes and the remote holds every object, intact.

Azurite is stopped while plain `dvc push` / `dvc pull` moves 1,000 files through the ASH gate, and started
again on the same port and folder. It is stopped with SIGTERM, not SIGKILL: Azurite keeps its blob index in
LokiJS, saved every few seconds, so a SIGKILL loses blobs it has already acknowledged, which no real storage
service does (and which DVC, trusting acknowledged uploads, cannot notice). Integrity is checked two ways:
every blob in the remote hashes to the MD5 its name claims, and a fresh clone pulls byte-identical files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from tests.harness.ash_gate import ASH_MAX_API_VERSION
from tests.integration.storage.test_dvc_on_ash import checksums
from tests.integration.storage.workspace import Workspace, clean_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FILES = 1000


def write_files(root: Path) -> None:
    for i in range(FILES):
        path = root / "data" / f"shard-{i % 10}" / f"item-{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(2000 + (i * 131) % 20000))


def start_dvc(ws: Workspace, command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["dvc", command],
        cwd=ws.root,
        env=clean_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop_storage_midway(ws: Workspace, process: subprocess.Popen[str], method: str, after: int) -> None:
    """Stop Azurite once `after` blob requests of `method` went through, keep it down until the command
    gives up (or 60 s), then start it again on the same port and folder."""
    baseline = sum(1 for r in ws.stack.gate.requests() if r["method"] == method)
    deadline = time.monotonic() + 300
    while sum(1 for r in ws.stack.gate.requests() if r["method"] == method) - baseline < after:
        assert process.poll() is None, f"dvc {method} finished before the crash:\n{process.communicate()[0]}"
        assert time.monotonic() < deadline, "transfer did not start"
        time.sleep(0.05)
    ws.stack.azurite.stop()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    ws.stack.azurite.start()
    process.communicate(timeout=600)


def assert_remote_objects_intact(ws: Workspace) -> int:
    service = BlobServiceClient.from_connection_string(
        ws.stack.connection_string(), api_version=ASH_MAX_API_VERSION
    )
    container = service.get_container_client(ws.container)
    checked = 0
    for name in container.list_blob_names(name_starts_with="files/md5/"):
        digest = name.removeprefix("files/md5/").replace("/", "")
        if digest.endswith(".dir"):
            continue
        assert hashlib.md5(container.download_blob(name).readall()).hexdigest() == digest, name
        checked += 1
    return checked


def fresh_clone(ws: Workspace, target: Path) -> Workspace:
    subprocess.run(["git", "clone", "-q", str(ws.root), str(target)], check=True, env=clean_env())
    shutil.copy(ws.root / ".dvc" / "config.local", target / ".dvc" / "config.local")
    shutil.copy(ws.root / "edge-train.toml", target / "edge-train.toml")
    return Workspace(target, ws.container, ws.stack)


@pytest.fixture
def committed(workspace: Workspace) -> tuple[Workspace, dict[str, str]]:
    write_files(workspace.root)
    expected = checksums(workspace.root / "data")
    workspace.dvc_add()
    workspace.run("git", "add", "-A")
    workspace.run("git", "commit", "-qm", "1,000 files")
    return workspace, expected


def test_push_interrupted_by_a_storage_outage_completes_on_rerun(
    committed: tuple[Workspace, dict[str, str]], tmp_path: Path
) -> None:
    ws, expected = committed
    stop_storage_midway(ws, start_dvc(ws, "push"), "PUT", after=300)

    ws.run("dvc", "push")

    assert assert_remote_objects_intact(ws) == FILES
    clone = fresh_clone(ws, tmp_path / "clone")
    clone.run("dvc", "pull")
    assert checksums(clone.root / "data") == expected


def test_pull_interrupted_by_a_storage_outage_completes_on_rerun(
    committed: tuple[Workspace, dict[str, str]], tmp_path: Path
) -> None:
    ws, expected = committed
    ws.run("dvc", "push")
    clone = fresh_clone(ws, tmp_path / "clone")
    stop_storage_midway(clone, start_dvc(clone, "pull"), "GET", after=300)

    clone.run("dvc", "pull")

    assert checksums(clone.root / "data") == expected
    assert "in sync" in clone.run("dvc", "status", "-c").stdout
