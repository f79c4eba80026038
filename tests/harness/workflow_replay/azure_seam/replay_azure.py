"""The Azure ML workspace of a replay: FakeAzure plus a model registry persisted in a JSON file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import azure.identity
from fake_azure import WORKSPACE_PATH, FakeAzure, FakeCredential, Recorded
from requests.adapters import HTTPAdapter

VERSIONS = r"/models/(?P<name>[^/]+)/versions"


class PersistentRegistry:
    """ModelVersions_Get / _List / _CreateOrUpdate and ModelContainers_Get, as the service answers them."""

    def __init__(self, fake: FakeAzure, state: Path) -> None:
        self.state = state
        fake.on("GET", VERSIONS + r"/\d+$", self.get)
        fake.on("GET", VERSIONS + r"$", self.list)
        fake.on("PUT", VERSIONS + r"/\d+$", self.put)
        fake.on("GET", r"/models/[^/]+$", self.container)
        fake.on("PUT", r"/models/[^/]+$", self.put_container)

    def load(self) -> dict[str, dict[str, dict]]:
        return json.loads(self.state.read_text()) if self.state.is_file() else {}

    def save(self, models: dict) -> None:
        self.state.write_text(json.dumps(models, indent=1))

    @staticmethod
    def _name(request: Recorded) -> str:
        match = re.search(VERSIONS, request.path) or re.search(r"/models/(?P<name>[^/]+)$", request.path)
        assert match
        return match["name"]

    def get(self, request: Recorded):
        version = request.path.rsplit("/", 1)[1]
        found = self.load().get(self._name(request), {}).get(version)
        if found:
            return 200, found, {}
        return 404, {"error": {"code": "UserError", "message": f"model version {version} not found"}}, {}

    def list(self, request: Recorded):
        return 200, {"value": list(self.load().get(self._name(request), {}).values())}, {}

    def put(self, request: Recorded):
        name, version = self._name(request), request.path.rsplit("/", 1)[1]
        models = self.load()
        properties = dict(request.body["properties"])
        properties.setdefault("flavors", {})  # the service always answers with the map (empty when none)
        properties.setdefault("isArchived", False)
        resource = {
            "id": f"{WORKSPACE_PATH}/models/{name}/versions/{version}",
            "name": version,
            "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
            "properties": properties,
        }
        models.setdefault(name, {})[version] = resource
        self.save(models)
        return 200, resource, {}

    def container(self, request: Recorded):
        name = self._name(request)
        versions = self.load().get(name, {})
        if not versions:
            return 404, {"error": {"code": "UserError", "message": f"model {name} not found"}}, {}
        return (
            200,
            {
                "id": f"{WORKSPACE_PATH}/models/{name}",
                "name": name,
                "properties": {"latestVersion": max(versions, key=int), "tags": {}, "properties": {}},
            },
            {},
        )

    def put_container(self, request: Recorded):
        name = self._name(request)
        return 200, {"id": f"{WORKSPACE_PATH}/models/{name}", "name": name, "properties": {}}, {}


# Set by the edge job's seam: a folder holding what the emulated job produced, one subfolder per returned
# output, and `types.json` (output name -> asset type). The fake serves them as the finished job's outputs.
JOB_OUTPUTS_ENV = "EDGE_TRAIN_REPLAY_JOB_OUTPUTS"


def job_outputs(folder: Path) -> dict[str, tuple[str, dict[str, bytes]]]:
    types = json.loads((folder / "types.json").read_text())
    return {
        name: (
            kind,
            {
                file.relative_to(folder / name).as_posix(): file.read_bytes()
                for file in sorted((folder / name).rglob("*"))
                if file.is_file()
            },
        )
        for name, kind in types.items()
    }


def install(state: str) -> None:
    fake = FakeAzure()
    if os.environ.get(JOB_OUTPUTS_ENV):
        fake.job_outputs = job_outputs(Path(os.environ[JOB_OUTPUTS_ENV]))
    PersistentRegistry(fake, Path(state))
    HTTPAdapter.send = lambda adapter, request, **kw: fake.send(adapter, request, **kw)  # type: ignore[method-assign]
    azure.identity.DefaultAzureCredential = lambda *a, **kw: FakeCredential()  # type: ignore[misc]
    # With `id-token: write` edge-train signs in through the Actions OIDC token (ml/azure/github_oidc.py);
    # Entra ID cannot run here either, so that credential is the same fake.
    azure.identity.ClientAssertionCredential = lambda *a, **kw: FakeCredential()  # type: ignore[misc]
