"""Loopback fakes of the Azure services a job talks to, in one process: managed identity, Key Vault, MLflow.

- **Managed identity endpoint** (plain HTTP, as the compute's local endpoint is): the Azure ML compute form
  (`MSI_ENDPOINT` + `MSI_SECRET`, `GET ?api-version=2017-09-01&resource=R` with header `secret`) and the App
  Service form (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, `api-version=2019-08-01`, header
  `X-IDENTITY-HEADER`); the JSON answer (`access_token`, `expires_on`, `resource`, `token_type`) follows
  azure-identity's `azure_ml.py` / `app_service.py` and the App Service managed-identity docs.
- **Key Vault** (HTTPS): `GET /secrets/{name}[/{version}]?api-version=7.x`. Without a bearer token it answers
  401 with the `WWW-Authenticate: Bearer authorization=..., resource=...` challenge azure-keyvault-secrets
  needs; with a token the identity endpoint issued for `https://vault.azure.net` it returns the SecretBundle
  (`value`, `id`, `attributes`), else the documented error body (`SecretNotFound` 404, `Forbidden` 403).
- **Azure ML MLflow tracking** (HTTPS): azureml-mlflow turns `azureml://HOST/mlflow/v1.0/<workspace scope>`
  into `https://HOST/mlflow/v2.0/<workspace scope>/api/2.0/mlflow/...` with the run token as bearer. The fake
  strips the workspace prefix, checks the token, and hands the request to MLflow's own server app (its real
  REST handlers and a sqlite store). The same app is also served without TLS or prefix on an admin port, for
  the harness to create the runs the service creates before a node starts.

Every request is logged as one JSON line (method, host, path, status; never a token or a secret value).
Run: `python -m tests.harness.azureml.fake_azure --config CONFIG.json`; prints one JSON line with the ports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.harness.azureml.tokens import claims, make_token

VAULT_RESOURCE = "https://vault.azure.net"
WORKSPACE_PREFIX = re.compile(
    r"^/mlflow/v[12]\.0/subscriptions/[^/]+/resourceGroups/[^/]+"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+(?P<rest>/.*)$",
    re.IGNORECASE,
)

Start = Any  # the WSGI start_response callable


def _json(
    start: Start, status: str, body: object, headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    data = json.dumps(body).encode()
    start(status, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])])
    return [data]


class Fakes:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.log = Path(config["log"]).open("a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        self.lock = threading.Lock()
        self.issued: dict[str, str] = {}  # token -> resource, for tokens from the identity endpoint
        self._mlflow: Any = None
        self._mlflow_loaded = threading.Event()
        # importing MLflow's server takes seconds: load it while the harness prepares the first node
        threading.Thread(target=self._load_mlflow, daemon=True).start()

    def _load_mlflow(self) -> None:
        self._mlflow = _mlflow_app(self.config)
        self._mlflow_loaded.set()

    def mlflow_app(self, environ: dict[str, Any], start: Start) -> Any:
        self._mlflow_loaded.wait()
        return self._mlflow(environ, start)

    def record(self, environ: dict[str, Any], status: str, service: str) -> None:
        line = {
            "service": service,
            "method": environ.get("REQUEST_METHOD"),
            "host": environ.get("HTTP_HOST"),
            "path": environ.get("PATH_INFO"),
            "status": int(status.split()[0]),
            "time": round(time.time(), 3),
        }
        with self.lock:
            self.log.write(json.dumps(line) + "\n")
            self.log.flush()

    # managed identity --------------------------------------------------------------------------------
    def identity(self, environ: dict[str, Any], start: Start) -> list[bytes]:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        secret = environ.get("HTTP_SECRET") or environ.get("HTTP_X_IDENTITY_HEADER")
        resource = query.get("resource", "")
        if self.config.get("identity_disabled"):
            status, body = (
                "400 Bad Request",
                {"error": "invalid_request", "error_description": "Identity not found"},
            )
        elif secret != self.config["identity_secret"]:
            status, body = (
                "401 Unauthorized",
                {"error": "unauthorized", "error_description": "bad secret header"},
            )
        elif not resource:
            status, body = (
                "400 Bad Request",
                {"error": "invalid_request", "error_description": "resource missing"},
            )
        else:
            token = make_token(resource.rstrip("/"), oid=self.config["identity_object_id"])
            with self.lock:
                self.issued[token] = resource.rstrip("/")
            status = "200 OK"
            expires = int(claims(token)["exp"])  # type: ignore[arg-type]
            body = {
                "access_token": token,
                "expires_on": expires if query.get("api-version") == "2017-09-01" else str(expires),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.config["identity_client_id"],
            }
        self.record(environ, status, "identity")
        return _json(start, status, body)

    # key vault ---------------------------------------------------------------------------------------
    def keyvault(self, environ: dict[str, Any], start: Start) -> list[bytes]:
        host = environ.get("HTTP_HOST", "").split(":")[0]
        match = re.fullmatch(r"/secrets/([0-9a-zA-Z-]+)(?:/([0-9a-f]*))?/?", environ.get("PATH_INFO", ""))
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        headers: list[tuple[str, str]] = []
        if not token:
            status = "401 Unauthorized"
            body: object = {
                "error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer"}
            }
            headers = [
                (
                    "WWW-Authenticate",
                    f'Bearer authorization="https://login.microsoftonline.com/{self.config["tenant_id"]}", '
                    f'resource="{VAULT_RESOURCE}"',
                )
            ]
        elif self.issued.get(token) != VAULT_RESOURCE:
            status = "401 Unauthorized"
            body = {"error": {"code": "Unauthorized", "message": "AKV10022: Invalid audience."}}
        elif self.config.get("vault_denies_identity"):
            status = "403 Forbidden"
            body = {
                "error": {
                    "code": "Forbidden",
                    "message": "Caller is not authorized to perform action on resource.",
                    "innererror": {"code": "ForbiddenByRbac"},
                }
            }
        elif match is None or environ.get("REQUEST_METHOD") != "GET":
            status, body = "400 Bad Request", {"error": {"code": "BadParameter", "message": "not emulated"}}
        elif match.group(1) not in self.config["secrets"]:
            status = "404 Not Found"
            body = {
                "error": {
                    "code": "SecretNotFound",
                    "message": f"A secret with (name/id) {match.group(1)} was not found in this key vault.",
                }
            }
        else:
            name, now = match.group(1), int(time.time())
            status = "200 OK"
            body = {
                "value": self.config["secrets"][name],
                "id": f"https://{host}/secrets/{name}/{'0' * 31}1",
                "attributes": {
                    "enabled": True,
                    "created": now,
                    "updated": now,
                    "recoveryLevel": "Recoverable+Purgeable",
                    "recoverableDays": 90,
                },
                "tags": {},
            }
        self.record(environ, status, "keyvault")
        return _json(start, status, body, headers)

    # mlflow tracking ---------------------------------------------------------------------------------
    def tracking(self, environ: dict[str, Any], start: Start) -> list[bytes]:
        match = WORKSPACE_PREFIX.match(environ.get("PATH_INFO", ""))
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if match is None:
            status = "404 Not Found"
            self.record(environ, status, "tracking")
            return _json(start, status, {"error": {"code": "NotFound", "message": "not emulated"}})
        if auth.removeprefix("Bearer ").strip() not in self.config["run_tokens"]:
            status = "401 Unauthorized"
            self.record(environ, status, "tracking")
            return _json(
                start, status, {"error": {"code": "UserError", "message": "Bearer token not valid."}}
            )
        environ = {**environ, "PATH_INFO": match.group("rest"), "HTTP_HOST": "localhost"}
        captured: list[str] = []

        def start_and_record(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append(status)
            return start(status, headers, exc_info)

        response = self.mlflow_app(environ, start_and_record)
        self.record({**environ, "PATH_INFO": match.group(0)}, captured[0] if captured else "500", "tracking")
        return response

    def https(self, environ: dict[str, Any], start: Start) -> list[bytes]:
        host = environ.get("HTTP_HOST", "").split(":")[0].lower()
        if host == self.config["vault_host"]:
            return self.keyvault(environ, start)
        if host == self.config["tracking_host"]:
            return self.tracking(environ, start)
        self.record(environ, "421 Misdirected Request", "https")
        return _json(start, "421 Misdirected Request", {"error": f"no emulated service at {host}"})


def _mlflow_app(config: dict[str, Any]) -> Any:
    """MLflow's own tracking server app (real REST handlers) on a sqlite store in the fakes' folder."""
    os.environ["_MLFLOW_SERVER_FILE_STORE"] = config["backend_store_uri"]
    os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = config["artifact_root"]
    os.environ["MLFLOW_SERVER_ALLOWED_HOSTS"] = "*"  # the servers listen on loopback only
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.server import app

    return app


def serve(config: dict[str, Any]) -> None:
    from werkzeug.serving import make_server

    fakes = Fakes(config)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config["cert"], config["key"])
    servers = {
        "https": make_server("127.0.0.1", 0, fakes.https, threaded=True, ssl_context=context),
        "identity": make_server("127.0.0.1", 0, fakes.identity, threaded=True),
        "admin": make_server("127.0.0.1", 0, fakes.mlflow_app, threaded=True),
    }
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({name: server.server_port for name, server in servers.items()}), flush=True)
    threading.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        serve(json.loads(args.config.read_text(encoding="utf-8")))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
