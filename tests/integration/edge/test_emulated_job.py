"""The project's pipeline through the job emulator: built by `submit`'s own code, run as Azure ML runs it.

The reintroduction tests put back each way issue 10 found the edge job broken and check that the emulator
stops the node for that reason. The end-to-end test runs the whole pipeline against ASH (Azurite behind the
gate) and compares the emulated run's metrics with a local run's on the same data and seed.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI, require_tool
from tests.harness.azureml.runner import JobResult
from tests.harness.azureml.sandbox import SandboxUnavailable, sandbox_prefix
from tests.harness.azureml.services import AzureFakes
from tests.harness.servers import running_stack
from tests.integration.clone import edge_train, fresh_clone
from tests.integration.edge.edge_project import (
    PIPELINE,
    VAULT_NAME,
    connect_to_ash,
    emulate,
    emulator,
    skipped,
    vault_secrets,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_clone(tmp_path_factory.mktemp("emulated") / "clone")


@pytest.fixture
def copy(clone: Path, tmp_path: Path) -> Path:
    """A private copy of the clone, for a test that changes files."""
    subprocess.run(["git", "clone", "-q", "--no-tags", str(clone), str(tmp_path / "repo")], check=True)
    for key, value in (("user.name", "t"), ("user.email", "t@example.invalid")):
        subprocess.run(["git", "config", key, value], cwd=tmp_path / "repo", check=True)
    return tmp_path / "repo"


def _first_node(root: Path) -> tuple[str, dict]:
    pipeline = yaml.safe_load((root / PIPELINE).read_text())
    name, node = next(iter(pipeline["jobs"].items()))
    return name, node


def test_a_reintroduced_requirement_file_editable_install_and_latest_image_stop_the_first_node(
    copy: Path, fakes: AzureFakes, tmp_path: Path
) -> None:
    (copy / "components" / "environment" / "reintroduced.yml").write_text(
        "dependencies:\n- python=3.11\n- pip\n- pip:\n"
        "  - -r ../../requirements.lock\n  - --no-deps\n  - -e ../..\n"
    )
    for path in (copy / "components").glob("*.yml"):
        component = yaml.safe_load(path.read_text())
        component["environment"] = {
            "image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
            "conda_file": "environment/reintroduced.yml",
        }
        path.write_text(yaml.safe_dump(component, sort_keys=False))

    result = emulate(copy, tmp_path / "job", fakes)

    first = result.nodes[0]
    assert first.status == "Failed"
    assert "'-r ../../requirements.lock'" in first.reason
    assert "'-e ../..'" in first.reason
    assert ":latest is not pinned" in first.reason
    assert {node.status for node in result.nodes[1:]} == {"NotStarted"}


def test_a_reintroduced_output_on_the_edge_datastore_stops_the_node(
    copy: Path, fakes: AzureFakes, tmp_path: Path
) -> None:
    pipeline = yaml.safe_load((copy / PIPELINE).read_text())
    name, node = _first_node(copy)
    component = yaml.safe_load((copy / PIPELINE).parent.joinpath(node["component"]).read_text())
    output = next(iter(component["outputs"]))
    node.setdefault("outputs", {})[output] = {
        "type": component["outputs"][output]["type"],
        "mode": "rw_mount",
        "path": "azureml://datastores/ash_blob/paths/edge-train/${{name}}/" + output,
    }
    pipeline["jobs"][name] = node
    (copy / PIPELINE).write_text(yaml.safe_dump(pipeline, sort_keys=False))

    result = emulate(copy, tmp_path / "job", fakes)

    assert result.node(name).status == "Failed"
    assert f"output {output} is a rw_mount on datastore ash_blob" in result.node(name).reason


@dataclass
class EdgeRuns:
    """A local run, then two emulated edge runs of the same commit (the second with nothing changed)."""

    local_metrics: dict[str, float]
    first: JobResult
    second: JobResult
    evaluate_metrics: dict[str, float]  # what the first run's evaluate node logged to the workspace
    gate_versions: set[str]


@pytest.fixture(scope="module")
def edge_runs(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> EdgeRuns:
    require_tool("azurite-blob", "bash tests/tools/install.sh (npm azurite@3.35.0)")
    try:
        sandbox_prefix()
    except SandboxUnavailable as exc:
        pytest.fail(str(exc)) if IN_CI else pytest.skip(str(exc))
    tmp = tmp_path_factory.mktemp("edge-runs")
    local = edge_train(clone, "run")
    assert local.returncode == 0, local.stdout + local.stderr
    with running_stack(tmp / "ash", tls=True) as ash:
        connect_to_ash(clone, ash)
        with AzureFakes(tmp / "azure", vault_name=VAULT_NAME, secrets=vault_secrets(clone, ash)) as fakes:
            job = emulator(clone, tmp / "job", fakes)
            first = job.run()
            assert first.ok, first.report()
            logged = fakes.client().get_run(first.node("evaluate").run_id).data.metrics
            second = job.run()
        versions = {str(r["x_ms_version"]) for r in ash.gate.requests() if r["x_ms_version"]}
    return EdgeRuns(
        json.loads((clone / "reports" / "metrics.json").read_text()), first, second, logged, versions
    )


@pytest.mark.slow
def test_the_whole_pipeline_runs_in_the_emulator_and_its_metrics_equal_a_local_runs(
    edge_runs: EdgeRuns,
) -> None:
    emulated = json.loads(edge_runs.first.node("evaluate").outputs["metrics"].read_text())
    assert emulated == pytest.approx(edge_runs.local_metrics)
    assert edge_runs.evaluate_metrics, "the evaluate node logged its metrics to the workspace"
    for key, value in edge_runs.evaluate_metrics.items():
        if key in edge_runs.local_metrics:
            assert value == pytest.approx(edge_runs.local_metrics[key])
    assert edge_runs.gate_versions == {"2019-07-07"}, (
        "every request from the pods carried the ASH API version"
    )


@pytest.mark.slow
def test_the_export_node_returns_only_the_onnx_model_and_a_parity_report_for_the_returned_model(
    edge_runs: EdgeRuns, clone: Path
) -> None:
    """The held-out rows stay in the pod; what comes back lets the runner package without a data row."""
    from ml.lineage import content_hash

    portable = edge_runs.first.node("export").outputs["portable"]
    assert sorted(path.name for path in portable.iterdir()) == ["model.onnx", "parity.json"]
    report = json.loads((portable / "parity.json").read_text())
    local = json.loads((clone / "artifacts" / "portable" / "parity.json").read_text())
    assert report["status"] == "passed" and report["rows"] == local["rows"] > 0
    assert report["model_hash"] == content_hash(edge_runs.first.node("train").outputs["model"])


@pytest.mark.slow
def test_a_second_edge_run_with_nothing_changed_restores_every_stage_from_the_run_cache(
    edge_runs: EdgeRuns,
) -> None:
    again = edge_runs.second
    assert again.ok, again.report()
    ran = [node.name for node in again.nodes[1:] if not skipped(node.log_text())]
    assert ran == [], f"stages that ran again instead of being restored from the run cache on ASH: {ran}"
