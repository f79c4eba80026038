"""Live smoke test against a real workspace: skipped unless the Azure environment variables are set.

How to run it (needs a workspace with the edge compute and datastore attached, see docs/fork-guide.md):

    export EDGE_TRAIN_LIVE=1                  # opt in: this creates a real job and costs compute time
    export AZURE_SUBSCRIPTION_ID=... AZURE_TENANT_ID=... AZURE_CLIENT_ID=...
    az login                                  # or any login DefaultAzureCredential finds (OIDC, SP)
    .venv/bin/edge-train doctor               # must be all green first
    .venv/bin/pytest tests/live -p no:cacheprovider -o addopts="" -s

The socket guard of tests/conftest.py is lifted for this module only: it is the one place allowed to talk
to Azure. It submits pipelines/train.yml with --wait and checks that model and metrics came back locally.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from ml.cli import app, run_app
from ml.paths import METRICS_FILE, MODEL_DIR, repo_root

REQUIRED = ("EDGE_TRAIN_LIVE", "AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_ID")
missing = [name for name in REQUIRED if not os.environ.get(name)]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing), reason=f"live Azure test: set {', '.join(missing)} (see module docstring)"
    ),
]


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides the conftest guard: this module talks to Azure on purpose."""
    monkeypatch.setattr(socket.socket, "connect", socket.socket.connect)


def test_doctor_is_green() -> None:
    assert run_app(app, ["doctor"]) == 0


def test_submit_wait_brings_back_model_and_metrics() -> None:
    root = repo_root()

    assert run_app(app, ["submit", "pipelines/train.yml", "--wait", "--poll", "30"]) == 0

    assert (root / MODEL_DIR / "MLmodel").is_file()
    assert "roc_auc" in json.loads((root / METRICS_FILE).read_text())
