"""A fake of the Azure HTTP services, plugged in where `requests` sends bytes: the SDK stack runs for real.

azure-ai-ml -> azure-core -> requests -> HTTPAdapter.send: we replace only the last hop, so every request the
SDK would put on the wire is recorded (method, URL, JSON body) and answered with handwritten JSON shaped
like the service's. The fake credential returns an unsigned JWT (the SDK decodes it to find the user's oid)
and never asks Entra ID or the instance metadata address.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import urllib3
from azure.core.credentials import AccessToken, AccessTokenInfo
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

SUBSCRIPTION = "0a1b2c3d-0000-4000-8000-000000000001"
RESOURCE_GROUP = "edge-rg"
WORKSPACE = "edge-ws"


def fake_workspace_settings():
    """The `[azure]` settings that name this fake's workspace, with the edge compute and datastore."""
    from ml.config import AzureSettings

    return AzureSettings(
        subscription_id=SUBSCRIPTION,
        resource_group=RESOURCE_GROUP,
        workspace=WORKSPACE,
        compute="ash-k3s",
        edge_datastore="ash_blob",
    )


ARM = "https://management.azure.com"
REGION = "https://westeurope.api.azureml.ms"
WORKSPACE_PATH = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
    f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
)
BLOBSTORE = "edgews1234.blob.core.windows.net/azureml-blobstore"
STUDIO = "https://ml.azure.com/runs/{name}?wsid=" + WORKSPACE_PATH


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeCredential:
    """A TokenCredential that hands out unsigned JWTs: no Entra ID, no 169.254.169.254 probe.

    The audience is the scope's resource, as Entra ID would issue it (the SDK checks it before submitting).
    Stands in for `default_credential(azure)`, so it accepts and ignores the settings.
    """

    def __init__(self, *settings: object) -> None:
        pass

    @staticmethod
    def token(*scopes: str) -> str:
        audience = scopes[0].removesuffix("/.default") if scopes else ""
        claims = {
            "oid": "11111111-1111-1111-1111-111111111111",
            "tid": "22222222-2222-2222-2222-222222222222",
            "aud": audience,
            "exp": 4102444800,
        }
        return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2ln"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token(*scopes), 4102444800)

    def get_token_info(self, *scopes: str, **kwargs: Any) -> AccessTokenInfo:
        return AccessTokenInfo(self.token(*scopes), 4102444800)


@dataclass
class Recorded:
    method: str
    url: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.url.split("?", 1)[0]


Handler = Callable[[Recorded], tuple[int, Any, dict[str, str]] | None]
LOGS = "https://edgews1234.blob.core.windows.net/azureml/ExperimentRun"


@dataclass
class FakeNode:
    """One child run of the pipeline, as run history lists it (`GET .../runs/{parent}/children`).

    Run history is not in Microsoft's public REST reference; its shapes are the SDK's own generated models
    (`azure.ai.ml._restclient.runhistory.models`: `PaginatedRunList`, `Run`, `RunDetails`, `ErrorResponse`),
    built from the service's swagger. `states` advance one per listing, like `FakeAzure.job_states`.
    """

    node: str
    states: list[str]
    run_id: str
    error: dict[str, str] = field(default_factory=dict)
    # The node's stdout and stderr as Azure ML's runtime writes them to user_logs/std_log.txt.
    log: bytes = b""

    @property
    def status(self) -> str:
        return self.states[0]

    def advance(self) -> None:
        if len(self.states) > 1:
            self.states.pop(0)

    def run(self, parent: str) -> dict:
        run = {"runId": self.run_id, "parentRunId": parent, "displayName": self.node, "status": self.status}
        if self.error:
            run["error"] = {"error": self.error}
        return run


@dataclass
class FakeAzure:
    """Routes requests to handlers (first match wins); records every request it sees."""

    requests: list[Recorded] = field(default_factory=list)
    overrides: list[tuple[str, str, Handler]] = field(default_factory=list)
    job_states: list[str] = field(default_factory=lambda: ["Completed"])
    # What run history records for a failed run: {"code": ..., "message": ...}.
    run_error: dict[str, str] = field(default_factory=dict)
    # Named outputs of finished jobs: output name -> (asset type, {file name: bytes}), in the blobstore.
    job_outputs: dict[str, tuple[str, dict[str, bytes]]] = field(default_factory=dict)
    # The pipeline's child runs (its nodes), as run history lists them.
    nodes: list[FakeNode] = field(default_factory=list)
    # What the job goes through after `POST .../jobs/{id}/cancel` (the states replace `job_states`).
    cancel_states: list[str] = field(default_factory=lambda: ["CancelRequested", "Canceled"])

    def on(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer `method` requests whose path matches `pattern` with `handler` (before the defaults)."""
        self.overrides.append((method, pattern, handler))

    def fail(self, method: str, pattern: str, status: int, code: str, message: str) -> None:
        self.on(method, pattern, lambda _: (status, {"error": {"code": code, "message": message}}, {}))

    def fail_times(self, method: str, pattern: str, statuses: list[int]) -> None:
        """Answer the next len(statuses) matching requests with these statuses (ARM's error body)."""
        left = list(statuses)

        def handler(_: Recorded) -> tuple[int, Any, dict[str, str]] | None:
            if not left:
                return None
            status = left.pop(0)
            return status, {"error": {"code": "ServiceUnavailable", "message": f"HTTP {status}"}}, {}

        self.on(method, pattern, handler)

    def cancels(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/cancel")]

    # --- what the SDK sends -------------------------------------------------------------------------------
    def job_puts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PUT" and "/jobs/" in r.path]

    def snapshot_files(self, folder: str) -> set[str]:
        """Blob names the code upload wrote under `folder` (the `code:` folder): the job's code snapshot."""
        marker = f"/{folder}/"
        return {
            r.path.split(marker, 1)[1]
            for r in self.requests
            if r.method == "PUT"
            and ".blob.core.windows.net/" in r.path
            and "comp=" not in r.url
            and marker in r.path
        }

    # --- the default answers ------------------------------------------------------------------------------
    def answer(self, request: Recorded) -> tuple[int, Any, dict[str, str]]:
        for method, pattern, handler in self.overrides:
            if method == request.method and re.search(pattern, request.path):
                result = handler(request)
                if result is not None:
                    return result
        path = request.path
        outputs = self._outputs(request)
        if outputs is not None:
            return outputs
        if ".blob.core.windows.net" in path:
            if request.method in ("GET", "HEAD"):
                return 404, None, {"x-ms-error-code": "BlobNotFound"}
            status = 200 if "comp=metadata" in request.url else 201
            return status, None, {"ETag": '"0x1"', "Last-Modified": "Mon, 23 Nov 2026 09:00:00 GMT"}
        if request.method == "GET" and path.endswith(f"/workspaces/{WORKSPACE}"):
            return (
                200,
                {
                    "id": WORKSPACE_PATH,
                    "name": WORKSPACE,
                    "location": "westeurope",
                    "properties": {"discoveryUrl": f"{REGION}/discovery"},
                },
                {},
            )
        if path == f"{REGION}/discovery":
            return (
                200,
                {
                    name: REGION
                    for name in (
                        "api",
                        "catalog",
                        "experimentation",
                        "gallery",
                        "history",
                        "hyperdrive",
                        "labeling",
                        "modelmanagement",
                        "pipelines",
                        "studiocoreservices",
                    )
                },
                {},
            )
        if request.method == "GET" and path.endswith("/versions"):
            return 200, {"value": []}, {}
        if request.method == "POST" and path.endswith("/startPendingUpload"):
            blob = "https://edgews1234.blob.core.windows.net/azureml-blobstore/LocalUpload/abc123"
            return (
                200,
                {
                    "blobReferenceForConsumption": {
                        "blobUri": blob,
                        "credential": {"credentialType": "SAS", "sasUri": f"{blob}?sv=2019-07-07&sig=fake"},
                    },
                    "pendingUploadId": "abc123",
                    "pendingUploadType": "TemporaryBlobReference",
                },
                {},
            )
        if request.method == "POST" and path.startswith(ARM) and path.endswith("/cancel"):
            # Jobs - Cancel (REST reference, 2024-04-01): 202 Accepted with Location and Retry-After.
            self.job_states = list(self.cancel_states)
            operation = f"{WORKSPACE_PATH}/locations/westeurope/mfeOperationResults/jc:{path.split('/')[-2]}"
            return 202, None, {"Location": f"{ARM}{operation}?api-version=2024-04-01", "Retry-After": "10"}
        if request.method == "PUT" and path.startswith(ARM) and "/jobs/" in path:
            return 201, self._job(request.body, path.rsplit("/", 1)[1], "NotStarted"), {}
        if request.method == "GET" and "/jobs/" in path:
            state = self.job_states.pop(0) if len(self.job_states) > 1 else self.job_states[0]
            put = self.job_puts()[-1].body if self.job_puts() else {"properties": {"jobType": "Pipeline"}}
            return 200, self._job(put, path.rsplit("/", 1)[1], state), {}
        if request.method == "PUT" and path.startswith(ARM):
            data = dict(request.body or {})
            data.update(id=path.removeprefix(ARM), name=path.rsplit("/", 1)[1])
            return 200, data, {}
        return (
            404,
            {"error": {"code": "NotFound", "message": f"fake Azure has no {request.method} {path}"}},
            {},
        )

    def _outputs(self, request: Recorded) -> tuple[int, Any, dict[str, str]] | None:
        """Run history, data/model URIs, the blobstore and its blobs: what `jobs.download` reads."""
        path, method = request.path, request.method
        if method == "GET" and path.startswith(f"{REGION}/history/") and path.endswith("/children"):
            parent = path.rsplit("/", 2)[1]
            runs = [node.run(parent) for node in self.nodes]
            for node in self.nodes:
                node.advance()
            return 200, {"value": runs, "continuationToken": None, "nextLink": None}, {}
        if method == "GET" and path.startswith(f"{REGION}/history/") and path.endswith("/details"):
            run = path.rsplit("/", 2)[1]
            node = next((n for n in self.nodes if n.run_id == run), None)
            if node is not None:
                details = {"runId": run, "status": node.status, "logFiles": {}}
                if node.log:
                    url = f"{LOGS}/dcid.{run}/user_logs/std_log.txt?sv=2019-07-07&sr=b&sig=fake"
                    details["logFiles"] = {"user_logs/std_log.txt": url}
                if node.error:
                    details["error"] = {"error": node.error}
                return 200, details, {}
            details = {"runId": run, "status": "Failed" if self.run_error else "Completed", "logFiles": {}}
            if self.run_error:
                details["error"] = {"error": self.run_error}
            return 200, details, {}
        if method == "GET" and path.startswith(f"{LOGS}/dcid."):
            return self._log_blob(path.removeprefix(f"{LOGS}/dcid.").split("/", 1)[0], request)
        if method == "POST" and path.endswith("/rundata"):
            job = request.body["runId"]
            return (
                200,
                {
                    "runMetadata": {
                        "runId": job,
                        "outputs": {
                            name: {"assetId": self._asset(job, name), "type": kind}
                            for name, (kind, _) in self.job_outputs.items()
                        },
                    }
                },
                {},
            )
        if method == "POST" and path.endswith("/batchGetResolvedUris"):
            key = "path" if "/modelregistry/" in path else "uri"
            return (
                200,
                {"values": {asset: {key: self._uri(asset), "type": "x"} for asset in request.body["values"]}},
                {},
            )
        if method == "GET" and path.endswith(("/datastores/workspaceblobstore", "/datastores")):
            blobstore = {
                "id": f"{WORKSPACE_PATH}/datastores/workspaceblobstore",
                "name": "workspaceblobstore",
                "properties": {
                    "datastoreType": "AzureBlob",
                    "accountName": "edgews1234",
                    "containerName": "azureml-blobstore",
                    "endpoint": "core.windows.net",
                    "protocol": "https",
                    "credentials": {"credentialsType": "AccountKey"},
                    "isDefault": True,
                },
            }
            return 200, {"value": [blobstore]} if path.endswith("/datastores") else blobstore, {}
        if method == "POST" and path.endswith("/datastores/workspaceblobstore/listSecrets"):
            return 200, {"secretsType": "AccountKey", "key": base64.b64encode(b"fake-key").decode()}, {}
        if method == "GET" and f"{BLOBSTORE}" in path:
            if "comp=list" in request.url:
                prefix = parse_qs(urlsplit(request.url).query).get("prefix", [""])[0]
                return 200, self._blob_list(prefix), {"Content-Type": "application/xml"}
            name = path.split(f"{BLOBSTORE}/", 1)[1]
            data = self._blobs().get(name)
            if data is None:
                return 404, None, {"x-ms-error-code": "BlobNotFound"}
            if not data:  # Get Blob with a range on an empty blob: 416; the SDK then gets it without one
                if request.headers.get("x-ms-range") or request.headers.get("Range"):
                    return 416, None, {"x-ms-error-code": "InvalidRange", "Content-Range": "bytes */0"}
                return 200, b"", {"Content-Type": "application/octet-stream", "x-ms-blob-type": "BlockBlob"}
            return (
                206,
                data,
                {
                    "Content-Type": "application/octet-stream",
                    "x-ms-blob-type": "BlockBlob",
                    "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
                    "ETag": '"0x1"',
                    "Last-Modified": "Mon, 23 Nov 2026 09:00:00 GMT",
                },
            )
        return None

    def _log_blob(self, run: str, request: Recorded) -> tuple[int, Any, dict[str, str]]:
        """Get Blob with `Range: bytes=N-` as the blob service answers: 206 with the rest, 416 past it."""
        data = next(n.log for n in self.nodes if n.run_id == run)
        start = int(re.sub(r"\D", "", (request.headers.get("Range") or "0").split("-", 1)[0]) or 0)
        if start >= len(data):
            return 416, None, {"x-ms-error-code": "InvalidRange", "Content-Range": f"bytes */{len(data)}"}
        headers = {"Content-Type": "application/octet-stream", "x-ms-blob-type": "AppendBlob"}
        return 206, data[start:], {**headers, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}

    @staticmethod
    def _asset(job: str, name: str) -> str:
        return f"azureml://locations/westeurope/workspaces/w/data/azureml_{job}_output_data_{name}/versions/1"

    @staticmethod
    def _uri(asset: str) -> str:
        job, name = asset.split("/data/azureml_", 1)[1].split("/", 1)[0].split("_output_data_")
        return (
            f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/workspaces/{WORKSPACE}"
            f"/datastores/workspaceblobstore/paths/azureml/{job}/{name}/"
        )

    def _blobs(self) -> dict[str, bytes]:
        return {
            f"azureml/{job}/{name}/{file}": data
            for job in self._jobs_seen()
            for name, (_, files) in self.job_outputs.items()
            for file, data in files.items()
        }

    def _jobs_seen(self) -> set[str]:
        return {r.body["runId"] for r in self.requests if r.path.endswith("/rundata")}

    def _blob_list(self, prefix: str) -> bytes:
        items = "".join(
            f"<Blob><Name>{name}</Name><Properties><Content-Length>{len(data)}</Content-Length>"
            "<BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob>"
            for name, data in self._blobs().items()
            if name.startswith(prefix)
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://edgews1234.'
            f'blob.core.windows.net/" ContainerName="azureml-blobstore"><Blobs>{items}</Blobs><NextMarker />'
            "</EnumerationResults>"
        ).encode()

    def _job(self, body: dict, name: str, status: str) -> dict:
        properties = dict(body.get("properties", {}))
        properties.update(status=status, services={"Studio": {"endpoint": STUDIO.format(name=name)}})
        properties.setdefault("properties", {"azureml.runsource": "azureml.PipelineRun"})
        return {
            "id": f"{WORKSPACE_PATH}/jobs/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": properties,
        }

    # --- the hop we replace ---------------------------------------------------------------------------------
    def send(self, adapter: HTTPAdapter, request: PreparedRequest, **kwargs: Any) -> Response:
        body: Any = request.body
        if isinstance(body, bytes | str) and "json" in (request.headers.get("Content-Type") or ""):
            body = json.loads(body)
        recorded = Recorded(request.method or "", request.url or "", body, dict(request.headers))
        self.requests.append(recorded)
        status, payload, headers = self.answer(recorded)
        data = (
            payload
            if isinstance(payload, bytes)
            else json.dumps(payload).encode()
            if payload is not None
            else b""
        )
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(data),
            status=status,
            preload_content=False,
            headers={"Content-Type": "application/json", "Content-Length": str(len(data)), **headers},
        )
        return adapter.build_response(request, raw)
