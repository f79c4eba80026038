"""Microsoft's own public examples (tests/corpus/valid-real, MIT, from Azure/azureml-examples) are valid.

They cover every node type Azure ML accepts: command components and inline commands, pipeline components,
sweep, parallel, spark, automl and prompt flow components. validate (azure-ai-ml included) must reject none of
them except by the residency rule, which must fire on every output they send to the cloud; and validate and
submit must give the same residency answer on every pipeline of every corpus.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ml.errors import EdgeTrainError
from ml.pipeline import residency
from ml.pipeline.graph import read_pipeline
from ml.pipeline.keys import DATA_TYPES
from ml.pipeline.residency import RULE
from ml.pipeline.validate import validate_file

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = REPO_ROOT / "tests" / "corpus"
EDGE = "ash_blob"
# Conda environment files are not Azure ML assets; everything else in the folder is a pipeline or component.
VALID_REAL = sorted(
    p
    for p in (CORPUS / "valid-real").rglob("*.y*ml")
    if p.suffix in (".yml", ".yaml") and "environment" not in p.relative_to(CORPUS).parts
)
PIPELINES = sorted(
    {p for p in CORPUS.rglob("*.yml") if p.read_text(encoding="utf-8").count("\njobs:")}
    | {REPO_ROOT / "pipelines" / "train.yml"}
)
PARAMS = {"prepare": {"test_size": 0.2, "seed": 42}, "train": {"C": 1.0}}


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(REPO_ROOT))


def test_the_corpus_covers_every_node_type() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in VALID_REAL)
    for kind in ("command", "pipeline", "sweep", "parallel", "spark", "automl"):
        assert f"type: {kind}" in text
    assert any(p.name == "flow.dag.yaml" for p in VALID_REAL)
    assert (CORPUS / "valid-real" / "LICENSE").read_text().startswith("    MIT License")


@pytest.mark.parametrize("use_sdk", [None, True], ids=["default", "sdk"])
@pytest.mark.parametrize("path", VALID_REAL, ids=lambda p: str(p.relative_to(CORPUS / "valid-real")))
def test_a_valid_real_world_file_is_rejected_only_for_residency(path: Path, use_sdk: bool | None) -> None:
    findings = validate_file(path, edge_datastore=EDGE, params=PARAMS, use_sdk=use_sdk, root=REPO_ROOT)
    rejections = [f.render() for f in findings if f.severity == "error" and "residency rule" not in f.message]
    assert rejections == []


def _cloud_data_outputs(path: Path) -> set[str]:
    """Every data output of the pipeline that no path sends to the edge datastore (all of them, here)."""
    return {
        out.key
        for out in residency.from_pipeline(read_pipeline(path))
        if out.type in DATA_TYPES and not (out.path or "").startswith(f"azureml://datastores/{EDGE}/")
    }


@pytest.mark.parametrize(
    "path", [p for p in VALID_REAL if p.name == "pipeline.yml"], ids=lambda p: p.parent.name
)
def test_residency_fires_on_every_cloud_output_of_a_real_world_pipeline(path: Path) -> None:
    findings = validate_file(path, edge_datastore=EDGE, params=PARAMS, use_sdk=False, root=REPO_ROOT)
    fired = {f.key for f in findings if RULE.split(":")[0] in f.message}
    assert fired == _cloud_data_outputs(path)


def _loaded(path: Path):  # an azure-ai-ml PipelineJob, or None
    from azure.ai.ml import load_job

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_job(path)
        except Exception:  # broken-corpus files the SDK cannot load never reach submit
            return None


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_validate_and_submit_give_the_same_residency_answer(path: Path) -> None:
    job = _loaded(path)
    if job is None:
        pytest.skip("azure-ai-ml cannot load it, so submit never gets that far")
    findings = validate_file(path, edge_datastore=EDGE, params=PARAMS, use_sdk=False, root=REPO_ROOT)
    by_validate = {f.key for f in findings if RULE.split(":")[0] in f.message}
    default = job.settings.default_datastore if job.settings else None
    by_submit = {out.key for out in residency.violations(residency.from_job(job), EDGE, default)}
    assert by_validate == by_submit
    if by_submit:
        with pytest.raises(EdgeTrainError, match="off the premises"):
            residency.check_job(job, EDGE, path)
    else:
        residency.check_job(job, EDGE, path)
