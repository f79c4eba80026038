"""The check against the derived tables stands in for azure-ai-ml only where it rejects what the SDK does."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.pipeline import offline
from ml.pipeline.graph import Component
from ml.pipeline.loader import load_yaml
from ml.pipeline.sdk import sdk_findings
from ml.pipeline.validate import validate_file

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = REPO_ROOT / "tests" / "corpus"
FILES = sorted(
    p
    for p in [*CORPUS.rglob("*.yml"), *CORPUS.rglob("*.yaml"), *(REPO_ROOT / "components").glob("*.yml")]
    if "environment" not in p.parts
)
PARAMS = {"prepare": {"test_size": 0.2, "seed": 42}, "train": {"C": 1.0, "max_iter": 500, "solver": "lbfgs"}}


def _is_job(path: Path) -> bool:
    doc = load_yaml(path)
    return (
        Component(doc=doc).kind == "pipeline"
        and "pipelinecomponent" not in str(doc.data.get("$schema")).lower()
    )


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(REPO_ROOT))


def test_the_repository_files_need_no_sdk_import() -> None:
    for path in [REPO_ROOT / "pipelines" / "train.yml", *(REPO_ROOT / "components").glob("*.yml")]:
        assert offline.needs_sdk(load_yaml(path), _is_job(path)) is None, path


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_what_the_sdk_rejects_the_table_check_rejects_too(path: Path) -> None:
    try:
        doc = load_yaml(path)
    except Exception:
        pytest.skip("not YAML: the loader's own finding covers it")
    is_job = _is_job(path)
    if offline.needs_sdk(doc, is_job) is not None:
        pytest.skip("the SDK's verdict is used for this file")
    sdk = sdk_findings(doc, "job" if is_job else "component", [], None)
    ours = validate_file(path, edge_datastore="ash_blob", params=PARAMS, use_sdk=None, root=REPO_ROOT)
    if sdk:
        assert [f for f in ours if f.severity == "error"], [f.render() for f in sdk]


@pytest.mark.parametrize(
    ("name", "valid"), [("edge_train_train", True), ("Train", False), ("train-2", False), ("_x", False)]
)
def test_the_component_name_pattern_is_the_sdks(name: str, valid: bool) -> None:
    from azure.ai.ml._schema.component.component import ComponentNameStr
    from marshmallow import ValidationError

    try:
        ComponentNameStr()._deserialize(name, "name", {})
        sdk_valid = True
    except ValidationError:
        sdk_valid = False
    assert sdk_valid is valid
    assert bool(offline.NAME.match(name)) is valid
