"""Azure ML registration, checked at the azure-ai-ml SDK boundary (the control plane is unreachable here).

The fake stands in for `MLClient.models` only: what we hand it is the real `azure.ai.ml.entities.Model`.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ml.errors import EdgeTrainError
from ml.lineage import content_hash
from ml.paths import MODEL_DIR
from ml.release.register import register_azure


class FakeModels:
    def __init__(self) -> None:
        self.created: list = []

    def list(self, name: str):
        return [
            SimpleNamespace(name=m.name, version=str(i + 1), tags=m.tags)
            for i, m in enumerate(self.created)
            if m.name == name
        ]

    def create_or_update(self, model):
        self.created.append(model)
        return SimpleNamespace(name=model.name, version=str(len(self.created)))


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    (tmp_path / "params.yaml").write_text("train: {C: 1.0}\n")
    (tmp_path / "data.dvc").write_text(yaml.safe_dump({"outs": [{"md5": "d" * 32 + ".dir", "path": "data"}]}))
    (tmp_path / "dvc.lock").write_text(
        yaml.safe_dump(
            {"schema": "2.0", "stages": {"train": {"outs": [{"path": MODEL_DIR, "md5": "a" * 32 + ".dir"}]}}}
        )
    )
    (tmp_path / MODEL_DIR).mkdir(parents=True)
    (tmp_path / MODEL_DIR / "MLmodel").write_text("flavors: {}\n")
    return tmp_path


def test_contract_registers_an_mlflow_model_with_the_lineage_tags(trained: Path) -> None:
    client = SimpleNamespace(models=FakeModels())
    assert register_azure(trained, client) == "1"
    (model,) = client.models.created
    assert model.type == "mlflow_model"
    assert model.name == "breast-cancer-classifier"
    assert Path(model.path) == trained / MODEL_DIR
    assert model.tags["edge_train.model_hash"] == content_hash(trained / MODEL_DIR), "the bytes registered"
    assert model.tags["edge_train.data_hash"] == "d" * 32
    assert {"edge_train.params_hash", "edge_train.git_commit", "edge_train.pipeline_run"} <= model.tags.keys()


def test_contract_the_same_model_again_returns_the_existing_version(trained: Path) -> None:
    client = SimpleNamespace(models=FakeModels())
    register_azure(trained, client)
    assert register_azure(trained, client) == "1"
    assert len(client.models.created) == 1


def test_registering_without_a_trained_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(EdgeTrainError, match="no trained model") as info:
        register_azure(tmp_path, SimpleNamespace(models=FakeModels()))
    assert "edge-train run" in info.value.hint


def test_the_azure_ml_version_is_remembered_for_the_version_tag(trained: Path) -> None:
    """`register --target azure` then `version` (train.yml): the tag must record the Azure ML version."""
    from ml.release.register import azure_version_registered

    client = SimpleNamespace(models=FakeModels())
    identity = content_hash(trained / MODEL_DIR)
    assert azure_version_registered(trained, "breast-cancer-classifier", identity) is None
    register_azure(trained, client)
    assert azure_version_registered(trained, "breast-cancer-classifier", identity) == "1"
    assert azure_version_registered(trained, "breast-cancer-classifier", "b" * 32) is None  # another model


def test_the_identity_is_the_bytes_registered_not_what_dvc_lock_says(trained: Path) -> None:
    """A model returned by an edge run never touches the runner's dvc.lock: other bytes, other identity."""
    client = SimpleNamespace(models=FakeModels())
    register_azure(trained, client)
    (trained / MODEL_DIR / "model.skops").write_bytes(b"weights trained on the edge")
    assert register_azure(trained, client) == "2"
    first, second = (m.tags["edge_train.model_hash"] for m in client.models.created)
    assert first != second == content_hash(trained / MODEL_DIR)
