"""`edge-train submit --wait` end to end against the fake Azure: build, submit, follow, download."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ml.cli import app, run_app

from .conftest import REPO
from .fake_azure import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE, FakeAzure, FakeCredential


@pytest.fixture
def configured(with_local_state: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (with_local_state / "edge-train.toml").write_text(
        f'[azure]\nsubscription_id = "{SUBSCRIPTION}"\nresource_group = "{RESOURCE_GROUP}"\n'
        f'workspace = "{WORKSPACE}"\ncompute = "ash-k3s"\n'
    )
    monkeypatch.setattr("ml.azure.client.default_credential", FakeCredential)
    return with_local_state


def test_submit_wait_leaves_model_and_metrics_where_a_local_run_does(
    configured: Path, fake_azure: FakeAzure, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_azure.job_states = ["Running", "Completed"]
    fake_azure.job_outputs = {
        "model": ("uri_folder", {"MLmodel": b"flavors: {}"}),
        "metrics": ("uri_file", {"metrics.json": b'{"roc_auc": 0.98}'}),
        "plots": ("uri_folder", {"roc.json": b"[]"}),
        "portable": ("uri_folder", {"parity.json": b'{"status": "not convertible"}'}),
    }

    code = run_app(app, ["submit", "pipelines/train.yml", "--wait", "--poll", "1"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads((configured / "reports" / "metrics.json").read_text()) == {"roc_auc": 0.98}
    assert (configured / "artifacts" / "model" / "MLmodel").is_file()
    assert (configured / "artifacts" / "portable" / "parity.json").is_file()
    assert "https://ml.azure.com/runs/" in out and "Completed" in out


def test_submit_without_workspace_settings_says_to_run_init(
    with_local_state: Path, fake_azure: FakeAzure, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_app(app, ["submit"])

    err = capsys.readouterr().err
    assert code == 1
    assert "azure.subscription_id, azure.resource_group, azure.workspace not set" in err
    assert "edge-train init" in err
    assert fake_azure.requests == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_following_cancels_the_azure_job_within_githubs_window(
    configured: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    """A cancelled workflow sends SIGINT, then SIGTERM 7.5 s later: the job must be cancelled before that."""
    record = tmp_path / "requests.json"
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "tests.unit.azure.submit_in_fake_azure", str(record), "--wait"],
        cwd=REPO,
        env={**os.environ, "EDGE_TRAIN_ROOT": str(configured), "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            if ": Running" in line:
                break
        sent = time.monotonic()
        process.send_signal(signum)
        _, err = process.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        watchdog.cancel()

    assert process.returncode == 128 + signum, err
    assert took < 7.5
    assert [path for method, path in json.loads(record.read_text()) if method == "POST" and "/cancel" in path]
    assert f"interrupted ({signum.name}): job edge-train-" in err
    assert "cancelled (CancelRequested)" in err
