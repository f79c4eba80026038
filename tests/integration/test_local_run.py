"""`edge-train run` in a fresh clone: data restored with the hash data.dvc records, the pipeline run,
metrics and plots written, an MLflow run per step and a registered model; a re-run skips every step.

What to expect follows this checkout (a fork's too): its schema's task, the metrics its gate names, the plots
its dvc.yaml wires and the model name its settings give."""

import json
import sqlite3
import subprocess

import pytest
import yaml

from ml.config import load_settings
from ml.data.example import is_example_schema
from ml.steps.schema import DEFAULT_GATE, SCHEMA_PATH, load_schema
from tests.conftest import REPO_ROOT
from tests.integration.clone import edge_train, fresh_clone

pytestmark = pytest.mark.integration

SCHEMA = load_schema(REPO_ROOT / SCHEMA_PATH)
GATED = (
    yaml.safe_load((REPO_ROOT / "params.yaml").read_text()).get("gate") or DEFAULT_GATE[SCHEMA.task]
).keys()
MODEL = load_settings(REPO_ROOT).model.name


def wired_plots() -> set[str]:
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"].values()
    return {name.rsplit("/", 1)[-1] for stage in stages for entry in stage.get("plots", []) for name in entry}


@pytest.fixture(scope="module")
def first_and_second_run(tmp_path_factory):
    root = fresh_clone(tmp_path_factory.mktemp("run") / "repo")
    first = edge_train(root, "run")
    second = edge_train(root, "run")
    return root, first, second


def test_the_first_run_succeeds_and_restores_the_data(first_and_second_run):
    """The example is re-created (a fresh clone's remote is empty); a fork's data comes from its remote."""
    root, first, _ = first_and_second_run
    assert first.returncode == 0, first.stderr
    if is_example_schema(SCHEMA):
        assert "re-created the example data" in first.stdout
    else:
        assert "restored data/ with `dvc pull`" in first.stdout
    unchanged = subprocess.run(["git", "diff", "--quiet", "data.dvc"], cwd=root, check=False)
    assert unchanged.returncode == 0, "the example export must hash to what data.dvc records"
    assert list((root / ".dvc-storage").rglob("*")), "the example data is pushed to the local remote"


def test_a_fresh_clone_reproduces_the_committed_dvc_lock_byte_for_byte(first_and_second_run):
    root, _, _ = first_and_second_run
    assert (root / "dvc.lock").read_bytes() == (REPO_ROOT / "dvc.lock").read_bytes(), (
        "same code, data and params must give the same model hash, or a fork's first run changes dvc.lock"
    )


def test_the_run_leaves_metrics_plots_and_a_model(first_and_second_run):
    root, _, _ = first_and_second_run
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    committed = json.loads((REPO_ROOT / "reports" / "metrics.json").read_text())
    assert {name: metrics[name] for name in GATED} == {name: committed[name] for name in GATED}
    assert {p.name for p in (root / "reports" / "plots").iterdir()} == wired_plots()
    assert (root / "artifacts" / "model" / "MLmodel").is_file()


def test_each_step_that_ran_is_an_mlflow_run_and_the_model_is_registered_with_lineage(first_and_second_run):
    # A fresh clone has no prepared data or model (DVC outputs), so those steps run; the model comes out
    # byte-identical to the committed one, so DVC skips evaluate: its metrics are already committed, and
    # the run logs them from reports/metrics.json as evaluate's MLflow run.
    root, first, _ = first_and_second_run
    assert "Stage 'evaluate' didn't change, skipping" in first.stdout
    with sqlite3.connect(root / "mlflow.db") as db:
        steps = {row[0] for row in db.execute("select value from tags where key = 'edge_train.step'")}
        versions = db.execute("select name, version from model_versions").fetchall()
        lineage = dict(db.execute("select key, value from model_version_tags"))
    assert steps == {"prepare", "train", "evaluate"}
    assert versions == [(MODEL, 1)]
    assert {
        "edge_train.git_commit",
        "edge_train.data_hash",
        "edge_train.params_hash",
        "edge_train.model_hash",
        *(f"metric.{name}" for name in GATED),
    } <= set(lineage)


def test_a_second_run_with_nothing_changed_skips_every_step_and_registers_nothing_new(first_and_second_run):
    root, _, second = first_and_second_run
    assert second.returncode == 0, second.stderr
    assert "skipped: it matches data.dvc" in second.stdout
    assert "skipped: every stage is up to date" in second.stdout
    assert "already version 1" in second.stdout
    with sqlite3.connect(root / "mlflow.db") as db:
        assert db.execute("select count(*) from model_versions").fetchone() == (1,)
