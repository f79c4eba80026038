"""`deploy --apply` drives the user's kubectl: apply, wait for the rollout, smoke-test the pods through a
port-forward, undo the rollout when any of it fails.

No cluster runs here, so kubectl is a stand-in at the process boundary that records its arguments and
answers as kubectl does (exit status, one line on stderr; `port-forward` prints kubectl's "Forwarding from"
line and forwards to a pod answering the image's routes, serving $POD_VERSION). What is tested is our side:
the order of calls, the undo on failure, and that deploy/<target>/ describes the cluster only after a
successful rollout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ml.cli import app, run_app

from .conftest import add_image

pytestmark = pytest.mark.usefixtures("skopeo")

KUBECTL = """#!/bin/sh
echo "$*" >> "$KUBECTL_LOG"
case "$*" in
  *"port-forward"*) exec "$POD_PYTHON" "$(dirname "$0")/pod.py" ;;
  *"rollout status"*)
    if [ -n "$ROLLOUT_FAILS" ]; then
      echo 'error: deployment "x" exceeded its progress deadline' >&2
      exit 1
    fi ;;
  *"apply -f"*) [ -d "${*##* }" ] || exit 3; echo "deployment.apps/breast-cancer-classifier configured" ;;
esac
exit 0
"""
POD = """
import json, sys, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Pod(BaseHTTPRequestHandler):
    def do_GET(self):
        self.answer({"version": os.environ["POD_VERSION"]} if self.path == "/version" else {})
    def do_POST(self):
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["dataframe_split"]["data"]
        self.answer({"predictions": [0] * len(rows)})
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Pod)
print(f"Forwarding from 127.0.0.1:{server.server_address[1]} -> 8080", flush=True)
server.serve_forever()
"""


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(KUBECTL)
    (bin_dir / "kubectl").chmod(0o755)
    (bin_dir / "pod.py").write_text(POD)
    monkeypatch.setenv("POD_PYTHON", sys.executable)
    monkeypatch.setenv("POD_VERSION", "v1.1.0")
    log = tmp_path / "kubectl.log"
    monkeypatch.setenv("KUBECTL_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_apply_then_wait_for_the_rollout(repo: Path, kubectl: Path) -> None:
    add_image(repo, "v1.1.0")
    assert run_app(app, ["deploy", "--target", "onprem", "--apply"]) == 0
    calls = kubectl.read_text().splitlines()
    assert calls[0].startswith("--namespace models apply -f ")
    assert calls[1] == "--namespace models rollout status deployment/breast-cancer-classifier --timeout=180s"
    assert calls[2] == "--namespace models port-forward deployment/breast-cancer-classifier :8080"
    assert (repo / "deploy" / "onprem" / "deployment.yaml").is_file()


def test_a_failed_rollout_is_undone_and_the_manifests_stay_as_they_were(
    repo: Path, kubectl: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    add_image(repo, "v1.0.0")
    add_image(repo, "v1.1.0")
    assert run_app(app, ["deploy", "v1.0.0", "--target", "onprem"]) == 0
    before = (repo / "deploy" / "onprem" / "deployment.yaml").read_text()
    monkeypatch.setenv("ROLLOUT_FAILS", "1")
    assert run_app(app, ["deploy", "--target", "onprem", "--apply"]) != 0
    err = capsys.readouterr().err
    assert "exceeded its progress deadline; rolled back" in err
    assert (
        kubectl.read_text().splitlines()[-1]
        == "--namespace models rollout undo deployment/breast-cancer-classifier"
    )
    assert (repo / "deploy" / "onprem" / "deployment.yaml").read_text() == before
    assert sorted(p.name for p in (repo / "deploy").iterdir()) == ["onprem"]  # no temporary folder left


def test_a_kubectl_context_is_passed_on(repo: Path, kubectl: Path) -> None:
    add_image(repo, "v1.1.0")
    text = (
        (repo / "edge-train.toml")
        .read_text()
        .replace('namespace = "models"', 'namespace = "models"\nkubectl_context = "ash"')
    )
    (repo / "edge-train.toml").write_text(text)
    assert run_app(app, ["deploy", "--target", "onprem", "--apply"]) == 0
    assert all(call.startswith("--context ash ") for call in kubectl.read_text().splitlines())


def test_pods_that_fail_the_smoke_test_are_rolled_back(
    repo: Path, kubectl: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    add_image(repo, "v1.1.0")
    monkeypatch.setenv("POD_VERSION", "v1.0.0")  # the pods still run the old image
    assert run_app(app, ["deploy", "--target", "onprem", "--apply"]) != 0
    assert "/version says 'v1.0.0', not v1.1.0; rolled back" in capsys.readouterr().err
    assert kubectl.read_text().splitlines()[-1].endswith("rollout undo deployment/breast-cancer-classifier")
    assert not (repo / "deploy" / "onprem").exists()
