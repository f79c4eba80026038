"""Plain `dvc` commands against "ASH" (Azurite behind the gate): push, pull, status -c, gc -c.

The commands run as a user or CI runs them, in subprocesses of this venv: the API-version pin reaches them
only through the `.pth` hook the package installs, which is exactly what these tests prove.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from tests.harness.ash_gate import ASH_MAX_API_VERSION
from tests.integration.storage.workspace import Workspace

pytestmark = pytest.mark.integration


def write_data(root: Path, files: int = 30) -> None:
    data = root / "data"
    for i in range(files):
        path = data / f"part-{i % 3}" / f"file-{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(1000 + 37 * i))


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def remote_blobs(ws: Workspace) -> set[str]:
    client = BlobServiceClient.from_connection_string(
        ws.stack.connection_string(), api_version=ASH_MAX_API_VERSION
    )
    return set(client.get_container_client(ws.container).list_blob_names())


def test_push_pull_status_and_gc_work_through_the_ash_gate_with_every_request_pinned(
    workspace: Workspace,
) -> None:
    ws = workspace
    write_data(ws.root)
    expected = checksums(ws.root / "data")
    ws.dvc_add()
    ws.run("git", "add", "-A")
    ws.run("git", "commit", "-qm", "data v1")
    first_request = len(ws.stack.gate.requests())

    ws.run("dvc", "push")
    assert "in sync" in ws.run("dvc", "status", "-c").stdout

    shutil.rmtree(ws.root / ".dvc" / "cache")
    shutil.rmtree(ws.root / "data")
    ws.run("dvc", "pull")
    assert checksums(ws.root / "data") == expected

    (ws.root / "data" / "part-0" / "file-0000.bin").write_bytes(b"changed")
    ws.dvc_add()
    ws.run("dvc", "push")
    before_gc = remote_blobs(ws)
    ws.run("dvc", "gc", "-w", "-c", "-f")
    after_gc = remote_blobs(ws)
    assert after_gc < before_gc, "gc -c removed the objects only the old version used"
    assert "in sync" in ws.run("dvc", "status", "-c").stdout

    requests = ws.stack.gate.requests()[first_request:]
    assert len(requests) > 30
    assert {r["x_ms_version"] for r in requests} == {ASH_MAX_API_VERSION}
    assert not [r for r in requests if r["status"] == 400]


def test_without_the_pin_dvc_push_fails_and_says_what_to_set(workspace: Workspace) -> None:
    ws = workspace
    ws.write_settings('api_version = ""\n')
    write_data(ws.root, files=3)
    ws.dvc_add()

    result = ws.run("dvc", "push", check=False)

    assert result.returncode != 0
    assert 'set api_version = "2019-07-07" under [storage] in edge-train.toml' in result.stderr
    rejected = [r for r in ws.stack.gate.requests() if r["status"] == 400]
    assert rejected and all(str(r["x_ms_version"]) > ASH_MAX_API_VERSION for r in rejected)


def test_a_refused_credential_in_plain_dvc_push_is_explained_with_what_to_run(workspace: Workspace) -> None:
    ws = workspace
    from tests.harness.servers import ACCOUNT_KEY

    local = ws.root / ".dvc" / "config.local"
    local.write_text(local.read_text().replace(ACCOUNT_KEY, "d3Jvbmcta2V5LW9mLXRoZS1yaWdodC1zaGFwZQ=="))
    write_data(ws.root, files=2)
    ws.dvc_add()

    result = ws.run("dvc", "push", check=False)

    assert result.returncode != 0
    assert "refused the credential (403" in result.stderr and "edge-train data doctor" in result.stderr


def test_the_pin_can_be_turned_off_for_a_process_with_an_environment_variable(workspace: Workspace) -> None:
    ws = workspace
    write_data(ws.root, files=2)
    ws.dvc_add()

    result = ws.run("dvc", "push", check=False, EDGE_TRAIN_STORAGE_PIN="off")

    assert result.returncode != 0
    assert "edge-train" not in result.stderr, "with the hook off nothing of ours runs"


def test_the_credential_stays_out_of_tracked_files(workspace: Workspace) -> None:
    ws = workspace
    from tests.harness.servers import ACCOUNT_KEY

    tracked = ws.run("git", "ls-files", "--cached", "--others", "--exclude-standard").stdout.split()
    assert ".dvc/config.local" not in tracked
    assert all(ACCOUNT_KEY not in (ws.root / name).read_text(errors="ignore") for name in tracked)
    assert ACCOUNT_KEY in (ws.root / ".dvc" / "config.local").read_text()
    assert (ws.root / ".dvc" / "config.local").stat().st_mode & 0o077 == 0
