"""A pipeline node runs its DVC stage in a code snapshot (no .git, no data, no cache) and hands on a pointer.

The remote here is a local folder standing for ASH (the job emulator runs the same nodes against Azurite
behind the ASH gate); what is checked is the node's contract: pull by the pointer's hashes, run or restore
from the run cache, push, hand on hashes only, and fail in one line naming the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml.azure.snapshot import tracked_files
from ml.data.restore import ensure_data
from ml.dvc import open_repo
from tests.integration.clone import share_data

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.integration


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose local DVC remote holds the data (as `edge-train run` leaves it): the example,
    re-created, or a fork's own, from this checkout's remote."""
    root = tmp_path / "checkout"
    for name in tracked_files(REPO):  # what submit sends: a file deleted by a run (a fork's old plots) is not
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    git_env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "clone"]):
        subprocess.run(command, cwd=root, check=True, env=git_env)
    share_data(root)
    monkeypatch.chdir(root)  # DVC resolves output paths against the working directory
    with open_repo(root) as repo:
        ensure_data(repo, root)
    shutil.copytree(root / ".dvc-storage", tmp_path / "remote")
    return root


def snapshot(checkout: Path, where: Path) -> Path:
    """What Azure ML runs a node in: the code only, with the remote that .dvc/config names."""
    shutil.copytree(
        checkout, where, ignore=shutil.ignore_patterns(".git", "data", "cache", "tmp", ".dvc-storage")
    )
    (where / ".dvc" / "config").write_text(
        f"[core]\n    remote = edge\n['remote \"edge\"']\n    url = {checkout.parent / 'remote'}\n"
    )
    return where


def node(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "EDGE_TRAIN", "MLFLOW_RUN"))}
    clean |= {"MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ml.edge.node", *args],
        cwd=root,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_data_and_prepare_nodes_hand_on_hashes_and_an_unchanged_stage_is_restored(
    checkout: Path, tmp_path: Path
) -> None:
    first = snapshot(checkout, tmp_path / "node1")
    raw, prepared = tmp_path / "out" / "raw", tmp_path / "out" / "prepared"

    data = node(first, "data.dvc", "--pointer-out", str(raw))
    assert data.returncode == 0, data.stderr
    ran = node(first, "prepare", "--pointer-in", str(raw), "--pointer-out", str(prepared),
               "--param", "prepare.seed=42", "--param", "prepare.test_size=0.2")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "Running stage 'prepare'" in ran.stdout

    pointer = json.loads((prepared / "pointer.json").read_text())
    assert pointer["target"] == "prepare"
    assert [out["path"] for out in pointer["lock"]["outs"]] == ["artifacts/prepared"]
    assert [p.name for p in prepared.iterdir()] == ["pointer.json"]  # hashes only: no rows leave
    assert (prepared / "pointer.json").stat().st_size < 4000

    second = snapshot(checkout, tmp_path / "node2")  # a fresh pod: nothing local but the snapshot
    again = node(second, "prepare", "--pointer-in", str(raw), "--pointer-out", str(tmp_path / "out" / "p2"))
    assert again.returncode == 0, again.stderr
    assert "Running stage" not in again.stdout
    assert "is cached - skipping run" in again.stdout + again.stderr
    rows = sorted((second / "artifacts" / "prepared").iterdir())
    assert [p.read_bytes() for p in rows] == [
        p.read_bytes() for p in sorted((first / "artifacts" / "prepared").iterdir())
    ]


def test_a_hyperparameter_changed_outside_params_yaml_is_refused(checkout: Path, tmp_path: Path) -> None:
    root = snapshot(checkout, tmp_path / "node")
    result = node(root, "prepare", "--param", "prepare.seed=7")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: input prepare.seed=7 differs from params.yaml (prepare.seed: 42) (fix: hyperparameters come "
        "from params.yaml: change it there, commit, and submit again)"
    ]


def test_an_input_that_is_not_a_pointer_fails_in_one_line(checkout: Path, tmp_path: Path) -> None:
    root = snapshot(checkout, tmp_path / "node")
    rows = tmp_path / "rows"
    rows.mkdir()
    (rows / "train.csv").write_text("a,b\n1,2\n")
    result = node(root, "train", "--pointer-in", str(rows))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "not a readable pointer" in line and "fix: wire this input" in line


def test_an_ash_remote_without_a_credential_fails_in_seconds_naming_the_setting(
    checkout: Path, tmp_path: Path
) -> None:
    root = snapshot(checkout, tmp_path / "node")
    (root / ".dvc" / "config").write_text(
        "[core]\n    remote = ash\n['remote \"ash\"']\n    url = azure://edge\n"
    )
    started = time.monotonic()
    result = node(root, "data.dvc", env={"EDGE_TRAIN_DVC_REMOTE": "ash"})
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "names no Key Vault secret" in line and "key_vault_url" in line
    assert "Traceback" not in result.stdout + result.stderr


def test_a_vault_url_without_a_secret_name_fails_in_seconds(checkout: Path, tmp_path: Path) -> None:
    root = snapshot(checkout, tmp_path / "node")
    result = node(root, "data.dvc", env={"EDGE_TRAIN_KEY_VAULT_URL": "https://kv.vault.azure.net"})
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "EDGE_TRAIN_STORAGE_SECRET is not set" in line


@pytest.mark.slow  # ~1.5 min on 2 cores: three node runs
def test_a_node_killed_mid_run_leaves_only_whole_objects_and_a_rerun_completes(
    checkout: Path, tmp_path: Path
) -> None:
    """Killed as soon as its stage finished (pushing, or about to): the remote holds whole objects under
    their hash only, and the node run again in a new pod (a fresh snapshot, as Azure ML retries) completes.

    The killed pod's own snapshot is not reused: DVC may have been killed while writing its dvc.lock."""
    import hashlib
    import signal

    root = snapshot(checkout, tmp_path / "node")
    raw = tmp_path / "out" / "raw"
    assert node(root, "data.dvc", "--pointer-out", str(raw)).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "EDGE_TRAIN", "MLFLOW_RUN"))}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    command = [sys.executable, "-m", "ml.edge.node", "prepare", "--pointer-in", str(raw)]
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    for line in process.stdout:
        if b"Updating lock file" in line:  # the stage ran; the push comes next
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)

    remote = checkout.parent / "remote" / "files" / "md5"
    for blob in remote.rglob("*"):
        if blob.is_file() and not blob.name.endswith(".dir"):
            assert hashlib.md5(blob.read_bytes()).hexdigest() == blob.parent.name + blob.name, blob
    fresh = snapshot(checkout, tmp_path / "retry")
    again = node(fresh, "prepare", "--pointer-in", str(raw), "--pointer-out", str(tmp_path / "out" / "p"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "p" / "pointer.json").is_file()
