"""Promotion in Azure ML at the HTTP boundary: the real azure-ai-ml stack, a fake workspace behind it.

Azure ML v2 workspace models have no aliases, so `edge-train promote` tags the model version that the
version tag's lineage names (`azureml_version`) with `stage=<stage>` and takes the tag off the version that
held it. The SDK call is `models.get` + `models.create_or_update`, which the SDK sends as GET and PUT of
`.../models/<name>/versions/<n>`; the fake records the bodies and keeps the versions in memory.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from requests.adapters import HTTPAdapter

from ml.config import AzureSettings
from ml.errors import EdgeTrainError
from ml.release.promote import promote_version
from ml.release.version import create_version
from tests.unit.azure.fake_azure import (
    ARM,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
    WORKSPACE_PATH,
    FakeAzure,
    FakeCredential,
    Recorded,
)

NAME = "breast-cancer-classifier"
VERSIONS = rf"/models/{NAME}/versions"
LINEAGE = {"edge_train.model_hash": "m3", "edge_train.git_commit": "c3"}


class FakeModelRegistry:
    """The workspace's model versions, as ModelVersions_Get / _List / _CreateOrUpdate answer them."""

    def __init__(self, fake: FakeAzure) -> None:
        self.versions: dict[str, dict] = {}
        fake.on("GET", VERSIONS + r"/\d+$", self.get)
        fake.on("GET", VERSIONS + r"$", self.list)
        fake.on("PUT", VERSIONS + r"/\d+$", self.put)
        fake.on("GET", rf"/models/{NAME}$", self.container)

    def add(self, version: str, tags: dict[str, str]) -> None:
        self.versions[version] = self.resource(
            version,
            {
                "modelType": "mlflow_model",
                "modelUri": f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/workspaces/"
                f"{WORKSPACE}/datastores/workspaceblobstore/paths/LocalUpload/v{version}/model",
                "tags": tags,
                "properties": {},
                "flavors": {"python_function": {"data": {"loader_module": "mlflow.sklearn"}}},
                "isArchived": False,
            },
        )

    @staticmethod
    def resource(version: str, properties: dict) -> dict:
        return {
            "id": f"{WORKSPACE_PATH}/models/{NAME}/versions/{version}",
            "name": version,
            "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
            "properties": properties,
        }

    def get(self, request: Recorded):
        version = request.path.rsplit("/", 1)[1]
        if version in self.versions:
            return 200, self.versions[version], {}
        return 404, {"error": {"code": "UserError", "message": f"model version {version} not found"}}, {}

    def list(self, request: Recorded):
        return 200, {"value": list(self.versions.values())}, {}

    def put(self, request: Recorded):
        version = request.path.rsplit("/", 1)[1]
        self.versions[version] = self.resource(version, request.body["properties"])
        return 200, self.versions[version], {}

    def container(self, request: Recorded):
        latest = max(self.versions, key=int) if self.versions else None
        return (
            200,
            {
                "id": f"{WORKSPACE_PATH}/models/{NAME}",
                "name": NAME,
                "properties": {"latestVersion": latest, "tags": {}, "properties": {}},
            },
            {},
        )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAzure:
    fake = FakeAzure()
    monkeypatch.setattr(HTTPAdapter, "send", lambda adapter, request, **kw: fake.send(adapter, request, **kw))
    return fake


@pytest.fixture
def ml_client(fake: FakeAzure):
    from ml.azure.client import workspace_client

    azure = AzureSettings(subscription_id=SUBSCRIPTION, resource_group=RESOURCE_GROUP, workspace=WORKSPACE)
    return workspace_client(azure, credential=FakeCredential())


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose v1.0.0 tag records Azure ML model version 3 (after `register --target azure`)."""
    for args in (
        ("init", "-q", "-b", "main"),
        ("config", "user.email", "ci@example.invalid"),
        ("config", "user.name", "CI"),
    ):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    (tmp_path / "params.yaml").write_text("train: {}\n")
    subprocess.run(["git", "add", "params.yaml"], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "first"], cwd=tmp_path, check=True)
    fields = {
        "model_hash": "m3",
        "signature_hash": "s",
        "git_commit": "c3",
        "mlflow_version": "1",
        "azureml_version": "3",
    }
    create_version(tmp_path, NAME, fields)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def model_puts(fake: FakeAzure) -> dict[str, dict]:
    return {
        r.path.rsplit("/", 1)[1]: r.body["properties"]
        for r in fake.requests
        if r.method == "PUT" and re.search(VERSIONS + r"/\d+$", r.path)
    }


def test_contract_promote_tags_the_azure_ml_model_version_and_moves_the_stage(repo, fake, ml_client, capsys):
    registry = FakeModelRegistry(fake)
    registry.add("2", {"edge_train.model_hash": "m2", "stage": "production"})
    registry.add("3", dict(LINEAGE))

    assert promote_version(repo, "1.0.0", "production", ml_client=ml_client) == f"{NAME}#production#1"

    puts = model_puts(fake)
    assert set(puts) == {"2", "3"}
    assert all(r.path.startswith(ARM) for r in fake.requests if r.method == "PUT")
    # The promoted version: the stage tag added, its lineage tags and stored model untouched.
    assert puts["3"]["tags"] == {**LINEAGE, "stage": "production"}
    assert puts["3"]["modelUri"] == registry.versions["3"]["properties"]["modelUri"]
    assert puts["3"]["modelType"] == "mlflow_model"
    # The version that held the stage loses it; nothing else about it changes.
    assert puts["2"]["tags"] == {"edge_train.model_hash": "m2"}
    # No upload: the PUT re-states the registered model, it does not register a new one.
    assert not any(".blob.core.windows.net" in r.path for r in fake.requests)
    out = capsys.readouterr().out
    assert "tagged Azure ML breast-cancer-classifier version 3 stage=production" in out
    assert "removed stage=production from Azure ML breast-cancer-classifier version 2" in out


def test_contract_promoting_again_sends_no_put(repo, fake, ml_client, capsys) -> None:
    registry = FakeModelRegistry(fake)
    registry.add("3", {**LINEAGE, "stage": "production"})
    promote_version(repo, "v1.0.0", "production", ml_client=ml_client)
    assert model_puts(fake) == {}
    assert "it already has stage=production" in capsys.readouterr().out


def test_contract_a_workspace_version_holding_another_model_is_not_tagged(repo, fake, ml_client) -> None:
    FakeModelRegistry(fake).add("3", {"edge_train.model_hash": "someone-else"})
    with pytest.raises(EdgeTrainError, match="another model"):
        promote_version(repo, f"{NAME}@v1.0.0", "production", ml_client=ml_client)
    assert model_puts(fake) == {}


def test_contract_the_put_body_is_what_the_sdk_sends_for_a_tag_update(repo, fake, ml_client) -> None:
    registry = FakeModelRegistry(fake)
    registry.add("3", dict(LINEAGE))
    promote_version(repo, "1.0.0", "production", ml_client=ml_client)
    (put,) = [r for r in fake.requests if r.method == "PUT"]
    assert "api-version=" in put.url
    assert json.loads(json.dumps(put.body))["properties"]["tags"]["stage"] == "production"


def test_a_version_without_an_azure_ml_version_makes_no_azure_call(tmp_path, monkeypatch, fake) -> None:
    for args in (("init", "-q"), ("config", "user.email", "c@x"), ("config", "user.name", "c")):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    (tmp_path / "params.yaml").write_text("train: {}\n")
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "x"], cwd=tmp_path, check=True)
    create_version(tmp_path, NAME, {"model_hash": "m1", "signature_hash": "s", "mlflow_version": "1"})
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    promote_version(tmp_path, "1.0.0", "production")  # no [azure] settings: would raise if it tried
    assert fake.requests == []
