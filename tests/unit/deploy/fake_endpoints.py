"""Azure ML online endpoints and deployments, emulated behind the Azure fake (tests/unit/azure/fake_azure.py).

The SDK runs for real down to `requests`; this answers the control-plane calls it makes, with bodies shaped
as Microsoft's REST reference shows them (Online Endpoints / Online Deployments - Get, Create Or Update,
Delete, List, List Keys; Compute - Get for a Kubernetes compute):
https://learn.microsoft.com/rest/api/azureml/online-endpoints and .../online-deployments.
The data plane (the endpoint's scoring URI) is a real loopback HTTP server that routes like Azure ML does:
by the `azureml-model-deployment` header, else by the traffic split; only with the endpoint's key.

What a deployment does once created is the test's choice (`behaviour`): serve, fail to provision (the
image cannot be pulled), or provision but answer scoring with HTTP 500. Quota is refused at the PUT.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.unit.azure.fake_azure import ARM, WORKSPACE_PATH, FakeAzure, Recorded

ENDPOINTS = r"/onlineEndpoints/(?P<endpoint>[^/]+)"
DEPLOYMENTS = ENDPOINTS + r"/deployments(?:/(?P<deployment>[^/]+))?$"
KEY = "fake-endpoint-key-0123"
ARC_CLUSTER = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Kubernetes/connectedClusters/ash"


@dataclass
class FakeEndpoints:
    azure: FakeAzure
    instance_types: dict[str, dict] = field(default_factory=lambda: {"cpu-small": {"resources": {}}})
    endpoints: dict[str, dict] = field(default_factory=dict)
    deployments: dict[str, dict[str, dict]] = field(default_factory=dict)
    environments: dict[str, dict] = field(default_factory=dict)
    # deployment name -> "serve" | "pull-fails" | "score-fails" | "quota"
    behaviour: dict[str, str] = field(default_factory=dict)
    scored: list[tuple[str, dict]] = field(default_factory=list)
    operations: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    # --- control plane ------------------------------------------------------------------------------------
    def install(self) -> None:
        on = self.azure.on
        on("GET", r"/computes/[^/]+$", self._compute)
        on("PUT", r"/environments/[^/]+/versions/[^/]+$", self._put_environment)
        on("GET", r"/environments/[^/]+/versions/[^/]+$", self._get_environment)
        on(
            "POST",
            ENDPOINTS + r"/listKeys$",
            lambda r: (200, {"primaryKey": KEY, "secondaryKey": KEY[::-1]}, {}),
        )
        on("GET", r"/mfeOperationsStatus/[^/]+$", self._operation)
        on("PUT", DEPLOYMENTS, self._put_deployment)
        on("GET", DEPLOYMENTS, self._get_deployment)
        on("DELETE", DEPLOYMENTS, self._delete_deployment)
        on("PUT", ENDPOINTS + "$", self._put_endpoint)
        on("GET", ENDPOINTS + "$", self._get_endpoint)

    def _compute(self, request: Recorded):
        name = request.path.rsplit("/", 1)[1]
        return (
            200,
            {
                "id": f"{WORKSPACE_PATH}/computes/{name}",
                "name": name,
                "location": "westeurope",
                "properties": {
                    "computeType": "Kubernetes",
                    "provisioningState": "Succeeded",
                    "resourceId": ARC_CLUSTER,
                    "properties": {
                        "namespace": "azureml",
                        "defaultInstanceType": next(iter(self.instance_types), ""),
                        "instanceTypes": self.instance_types,
                    },
                },
            },
            {},
        )

    def _put_environment(self, request: Recorded):
        body = {
            **request.body,
            "id": request.path.split(".com", 1)[-1],
            "name": request.path.rsplit("/", 1)[1],
        }
        self.environments[request.path] = body
        return 201, body, {}

    def _get_environment(self, request: Recorded):
        found = self.environments.get(request.path)
        return (200, found, {}) if found else self._not_found("environment")

    def _endpoint_body(self, name: str) -> dict:
        return self.endpoints[name]

    def _put_endpoint(self, request: Recorded):
        name = re.search(ENDPOINTS, request.path)["endpoint"]
        body = json.loads(json.dumps(request.body))
        properties = body.setdefault("properties", {})
        properties.update(
            provisioningState="Succeeded",
            scoringUri=f"{self.url()}/score",
            swaggerUri=f"{self.url()}/swagger.json",
        )
        properties["traffic"] = {k: v for k, v in (properties.get("traffic") or {}).items() if v}
        body.update(
            id=f"{WORKSPACE_PATH}/onlineEndpoints/{name}",
            name=name,
            type="Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        )
        self.endpoints[name] = body
        self.deployments.setdefault(name, {})
        return 200, body, {}

    def _get_endpoint(self, request: Recorded):
        name = re.search(ENDPOINTS, request.path)["endpoint"]
        return (200, self.endpoints[name], {}) if name in self.endpoints else self._not_found("endpoint")

    def _put_deployment(self, request: Recorded):
        match = re.search(DEPLOYMENTS, request.path)
        endpoint, name = match["endpoint"], match["deployment"]
        if self.behaviour.get(name) == "quota":
            return (
                400,
                {
                    "error": {
                        "code": "OutOfQuota",
                        "message": "Not enough quota available for Standard_DS3_v2 in the subscription.",
                    }
                },
                {},
            )
        body = json.loads(json.dumps(request.body))
        failed = self.behaviour.get(name) == "pull-fails"
        body["properties"]["provisioningState"] = "Creating"
        # Defaults the service fills in, per the REST reference (OnlineDeployment properties).
        kubernetes = body["properties"].get("endpointComputeType") == "Kubernetes"
        probe = {"failureThreshold": 30, "successThreshold": 1, "timeout": "PT2S", "period": "PT10S"}
        for key, default in (
            ("scaleSettings", {"scaleType": "TargetUtilization" if kubernetes else "Default"}),
            ("requestSettings", {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1}),
            ("livenessProbe", {**probe, "initialDelay": "PT10S"}),
            ("readinessProbe", {**probe, "initialDelay": "PT10S"}),
        ):
            body["properties"].setdefault(key, default)
        if kubernetes:
            # The instance type's resources (the default instance type's, as documented: requests
            # 100m CPU / 2Gi, limits 2 CPU / 2Gi); the SDK reads them back.
            body["properties"].setdefault(
                "containerResourceRequirements",
                {
                    "containerResourceRequests": {"cpu": "100m", "memory": "2Gi"},
                    "containerResourceLimits": {"cpu": "2", "memory": "2Gi"},
                },
            )
        body.update(
            id=f"{WORKSPACE_PATH}/onlineEndpoints/{endpoint}/deployments/{name}",
            name=name,
            type="Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        )
        self.deployments.setdefault(endpoint, {})[name] = body
        # 201 Created with an Azure-AsyncOperation to poll (Retry-After: 0 keeps the test fast); the
        # operation ends Succeeded, or Failed with the error a failed image pull reports.
        operation = f"{len(self.operations)}"
        self.operations[operation] = (name, endpoint, failed)
        status_url = (
            f"{ARM}{WORKSPACE_PATH.split('/providers/')[0]}/providers/Microsoft.MachineLearningServices"
            f"/locations/westeurope/mfeOperationsStatus/{operation}?api-version=2024-04-01"
        )
        return 201, body, {"Azure-AsyncOperation": status_url, "Retry-After": "0"}

    def _operation(self, request: Recorded):
        name, endpoint, failed = self.operations[request.path.rsplit("/", 1)[1]]
        deployment = self.deployments[endpoint][name]
        deployment["properties"]["provisioningState"] = "Failed" if failed else "Succeeded"
        if failed:
            error = {"code": "ImagePullFailed", "message": "Failed to pull the image: unauthorized (AcrPull)"}
            return 200, {"name": request.path.rsplit("/", 1)[1], "status": "Failed", "error": error}, {}
        return 200, {"name": request.path.rsplit("/", 1)[1], "status": "Succeeded"}, {}

    def _get_deployment(self, request: Recorded):
        match = re.search(DEPLOYMENTS, request.path)
        endpoint, name = match["endpoint"], match["deployment"]
        held = self.deployments.get(endpoint, {})
        if name is None:
            return 200, {"value": list(held.values())}, {}
        return (200, held[name], {}) if name in held else self._not_found("deployment")

    def _delete_deployment(self, request: Recorded):
        match = re.search(DEPLOYMENTS, request.path)
        endpoint, name = match["endpoint"], match["deployment"]
        if self.endpoints.get(endpoint, {}).get("properties", {}).get("traffic", {}).get(name):
            return 400, {"error": {"code": "BadRequest", "message": "deployment has traffic"}}, {}
        self.deployments.get(endpoint, {}).pop(name, None)
        return 200, None, {}

    @staticmethod
    def _not_found(what: str):
        return 404, {"error": {"code": "ResourceNotFound", "message": f"the {what} was not found"}}, {}

    # --- views for assertions -----------------------------------------------------------------------------
    def traffic(self, endpoint: str) -> dict[str, int]:
        return dict(self.endpoints[endpoint]["properties"].get("traffic") or {})

    def deployment_names(self, endpoint: str) -> set[str]:
        return set(self.deployments.get(endpoint, {}))

    def writes(self) -> list[Recorded]:
        return [
            r
            for r in self.azure.requests
            if r.method in ("PUT", "POST", "DELETE") and "listKeys" not in r.path
        ]

    # --- data plane ---------------------------------------------------------------------------------------
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        fake = self

        class Router(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    return self._send(401, {"message": "missing or wrong key"})
                endpoint = next(iter(fake.endpoints), "")
                name = self.headers.get("azureml-model-deployment") or _by_traffic(fake.traffic(endpoint))
                if name not in fake.deployment_names(endpoint):
                    return self._send(404, {"message": f"no deployment {name}"})
                fake.scored.append((name, body))
                if fake.behaviour.get(name) == "score-fails":
                    return self._send(500, {"message": "An unexpected error occurred in scoring script."})
                rows = body.get("dataframe_split", {}).get("data", [])
                return self._send(200, {"predictions": [0 for _ in rows]})

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Router)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def _by_traffic(traffic: dict[str, int]) -> str:
    return max(traffic, key=traffic.__getitem__) if traffic else ""
