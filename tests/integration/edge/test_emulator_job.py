"""A small two-node pipeline through the emulator: the service's side of a job, end to end.

The pipeline is written here (not the project's), so this proves the emulator itself: the environment from
the spec text, the managed identity reading a Key Vault secret, azureml-mlflow logging to the workspace's
tracking URI, outputs and inputs as mounts, component environment variables, and the node's network guard.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.harness.azureml.environment import cache_root
from tests.harness.azureml.runner import Emulator
from tests.harness.azureml.services import AzureFakes

pytestmark = pytest.mark.integration

PINS = ["mlflow-skinny==3.17.2", "azure-identity==1.27.0", "azure-keyvault-secrets==4.12.0"]
PLUGIN = "azureml-mlflow==1.60.0"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1"

PRODUCE = """
import argparse, hashlib, json, os, socket
from pathlib import Path
import mlflow
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

parser = argparse.ArgumentParser()
parser.add_argument("--greeting"); parser.add_argument("--report"); parser.add_argument("--folder")
args = parser.parse_args()
vault = SecretClient(os.environ["KEY_VAULT_URL"], ManagedIdentityCredential())
secret = vault.get_secret("ash-storage").value
mlflow.set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"])
with mlflow.start_run():
    mlflow.log_param("greeting", args.greeting)
    mlflow.log_metric("secret_length", len(secret))
try:
    socket.create_connection(("10.255.255.1", 9), timeout=2)
    blocked = ""
except OSError as exc:
    blocked = str(exc)
digest = hashlib.sha256(secret.encode()).hexdigest()
Path(args.report).write_text(json.dumps({"sha": digest, "blocked": blocked}))
(Path(args.folder) / "part.txt").write_text(args.greeting)
"""

CONSUME = """
import argparse, json, sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--report"); parser.add_argument("--folder"); parser.add_argument("--summary")
args = parser.parse_args()
try:
    (Path(args.folder) / "extra.txt").write_text("x")
    upstream_writable = True
except OSError:
    upstream_writable = False
summary = {
    "report": json.loads(Path(args.report).read_text()),
    "part": (Path(args.folder) / "part.txt").read_text(),
    "upstream_writable": upstream_writable,
    "prefix": sys.prefix,
    "path": sys.path,
}
(Path(args.summary) / "summary.json").write_text(json.dumps(summary))
"""


def _project(root: Path, pip: list[str]) -> Path:
    """A minimal pipeline project: two components sharing code and environment, a pipeline binding them."""
    (root / "src").mkdir(parents=True)
    (root / "components").mkdir()
    (root / "src" / "produce.py").write_text(PRODUCE)
    (root / "src" / "consume.py").write_text(CONSUME)
    (root / "src" / ".amlignore").write_text("secrets.txt\n")
    (root / "src" / "secrets.txt").write_text("never uploaded")
    pip_lines = "".join(f"      - {entry}\n" for entry in pip)
    (root / "components" / "conda.yml").write_text(
        f"name: t\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n{pip_lines}"
    )
    common = f"code: ../src\nenvironment:\n  image: {IMAGE}\n  conda_file: conda.yml\n"
    (root / "components" / "produce.yml").write_text(
        "type: command\nname: produce\nversion: '1'\n"
        "inputs:\n  greeting: {type: string, default: hello}\n"
        "outputs:\n  report: {type: uri_file}\n  folder: {type: uri_folder}\n"
        "environment_variables:\n  KEY_VAULT_URL: https://kv-edge-train.vault.azure.net/\n"
        + common
        + "command: python produce.py --greeting ${{inputs.greeting}} --report ${{outputs.report}} "
        "--folder ${{outputs.folder}}\n"
    )
    (root / "components" / "consume.yml").write_text(
        "type: command\nname: consume\nversion: '1'\n"
        "inputs:\n  report: {type: uri_file}\n  folder: {type: uri_folder}\n"
        "outputs:\n  summary: {type: uri_folder}\n"
        + common
        + "command: python consume.py --report ${{inputs.report}} --folder ${{inputs.folder}} "
        "--summary ${{outputs.summary}}\n"
    )
    (root / "pipeline.yml").write_text(
        "type: pipeline\nexperiment_name: emulated\nsettings: {default_compute: azureml:edge}\n"
        "inputs:\n  greeting: bonjour\n"
        "jobs:\n"
        "  consume:\n    type: command\n    component: components/consume.yml\n"
        "    inputs:\n      report: ${{parent.jobs.produce.outputs.report}}\n"
        "      folder: ${{parent.jobs.produce.outputs.folder}}\n"
        "  produce:\n    type: command\n    component: components/produce.yml\n"
        "    inputs:\n      greeting: ${{parent.inputs.greeting}}\n"
    )
    return root / "pipeline.yml"


def _run(tmp_path: Path, fakes: AzureFakes, pip: list[str]):
    from azure.ai.ml import load_job

    job = load_job(_project(tmp_path / "project", pip))
    return Emulator(job, tmp_path / "job", fakes).run()


def test_a_node_reads_its_secret_through_the_managed_identity_and_logs_to_the_workspace(
    sandbox: tuple[str, ...], fakes: AzureFakes, tmp_path: Path
) -> None:
    secret = fakes.secrets["ash-storage"]

    result = _run(tmp_path, fakes, [*PINS, PLUGIN])

    assert result.ok, result.report()
    assert [node.name for node in result.nodes] == ["produce", "consume"], (
        "upstream first, whatever the YAML order"
    )
    summary = json.loads((result.node("consume").outputs["summary"] / "summary.json").read_text())
    assert summary["report"]["sha"] == hashlib.sha256(secret.encode()).hexdigest()
    assert "blocked" in summary["report"]["blocked"], "a non-loopback connection fails inside the node"
    assert summary["part"] == "bonjour", "the pipeline input reached the node, its output the next node"
    assert summary["upstream_writable"] is False, "an upstream output is mounted read-only"
    assert Path(summary["prefix"]).is_relative_to(cache_root()), "the environment built from the spec"
    assert not any(str(REPO_ROOT) in entry for entry in summary["path"]), "nothing of this checkout"
    run = fakes.client().get_run(result.node("produce").run_id)
    assert run.data.metrics == {"secret_length": float(len(secret))}
    assert run.data.params == {"greeting": "bonjour"}
    assert run.data.tags["mlflow.parentRunId"] == result.parent_run_id
    calls = [(r["service"], r["status"]) for r in fakes.requests()]
    assert ("keyvault", 401) in calls and ("keyvault", 200) in calls, "challenge, then the secret"
    assert ("identity", 200) in calls
    assert {status for service, status in calls if service == "tracking"} == {200}
    logs = "".join(p.read_text() for p in (tmp_path / "job" / "runs").rglob("user_logs/*.txt"))
    assert logs, "the nodes' logs were read"
    assert secret not in logs


def test_mlflow_in_a_job_fails_without_the_azureml_plugin(
    sandbox: tuple[str, ...], fakes: AzureFakes, tmp_path: Path
) -> None:
    result = _run(tmp_path, fakes, PINS)

    produce = result.node("produce")
    assert produce.status == "Failed"
    assert produce.exit_code == 1
    assert "UnsupportedModelRegistryStoreURIException" in produce.stderr_tail, "the error issue 10 names"
    assert result.node("consume").status == "NotStarted"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"identity_disabled": True}, "Identity not found"),
        ({"vault_denies_identity": True}, "Forbidden"),
        ({"secrets": {}}, "SecretNotFound"),
    ],
    ids=["compute-without-identity", "identity-without-vault-role", "secret-missing"],
)
def test_a_credential_fault_fails_the_node_with_the_services_error(
    sandbox: tuple[str, ...], tmp_path: Path, fault: dict[str, object], expected: str
) -> None:
    settings = {"secrets": {"ash-storage": "s3cr3t"}, **fault}
    with AzureFakes(tmp_path / "azure", **settings) as fakes:  # type: ignore[arg-type]
        result = _run(tmp_path, fakes, [*PINS, PLUGIN])

    assert result.node("produce").status == "Failed"
    assert expected in result.node("produce").stderr_tail


@pytest.mark.slow
def test_the_app_service_form_of_the_identity_endpoint_works_too(
    sandbox: tuple[str, ...], tmp_path: Path
) -> None:
    with AzureFakes(
        tmp_path / "azure", secrets={"ash-storage": "s3cr3t"}, identity_style="app_service"
    ) as fakes:
        result = _run(tmp_path, fakes, [*PINS, PLUGIN])

    assert result.ok, result.report()


def test_each_run_of_the_same_job_gets_fresh_containers_and_output_paths(
    sandbox: tuple[str, ...], fakes: AzureFakes, tmp_path: Path
) -> None:
    from azure.ai.ml import load_job

    emulator = Emulator(load_job(_project(tmp_path / "project", [*PINS, PLUGIN])), tmp_path / "job", fakes)

    first, second = emulator.run(), emulator.run()

    assert first.ok and second.ok, first.report() + "\n" + second.report()
    assert first.parent_run_id != second.parent_run_id
    assert first.node("consume").outputs["summary"] != second.node("consume").outputs["summary"]
    assert (first.node("consume").outputs["summary"] / "summary.json").is_file(), (
        "the first run's outputs stay"
    )
