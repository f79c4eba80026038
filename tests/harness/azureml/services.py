"""Start and stop the fake Azure services (`fake_azure`) for one emulated job, and act as the service side.

The fakes run in their own process (MLflow's server app keeps global state); this object writes their
configuration, makes the private CA that signs their certificate (it stands for the public CAs an Azure ML
image trusts), and creates the MLflow experiment and runs the service creates before a node starts.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness.azureml.service_env import Workspace
from tests.harness.azureml.tokens import make_token
from tests.harness.servers import REPO_ROOT, _stop
from tests.harness.tls import private_ca


@dataclass
class AzureFakes:
    """Managed identity, Key Vault and MLflow tracking fakes on loopback, for one workspace."""

    folder: Path
    workspace: Workspace = field(default_factory=Workspace)
    vault_name: str = "kv-edge-train"
    secrets: dict[str, str] = field(default_factory=dict)
    identity_style: str = "azureml"  # or "app_service"
    identity_disabled: bool = False  # the compute has no identity assigned
    vault_denies_identity: bool = False  # the identity has no role on the vault
    process: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] = field(default_factory=dict)
    identity_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    run_tokens: list[str] = field(default_factory=list)

    @property
    def vault_host(self) -> str:
        return f"{self.vault_name}.vault.azure.net"

    @property
    def vault_url(self) -> str:
        return f"https://{self.vault_host}/"

    @property
    def ca_file(self) -> Path:
        return self.folder / "tls" / "ca.pem"

    @property
    def log(self) -> Path:
        return self.folder / "requests.jsonl"

    @property
    def hosts(self) -> dict[str, int]:
        """Names the node resolves to the fakes (see nodeboot/sitecustomize.py)."""
        return {
            f"{self.vault_host}:443": self.ports["https"],
            f"{self.workspace.tracking_host}:443": self.ports["https"],
        }

    @property
    def identity_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['identity']}/msi/token"

    @property
    def admin_uri(self) -> str:
        return f"http://127.0.0.1:{self.ports['admin']}"

    def start(self) -> None:
        (self.folder / "tls").mkdir(parents=True, exist_ok=True)
        _, cert, key = private_ca(
            self.folder / "tls", "127.0.0.1", (self.vault_host, self.workspace.tracking_host)
        )
        self.run_tokens = [make_token("https://ml.azure.com", lifetime_s=4 * 3600) for _ in range(32)]
        config = {
            "log": str(self.log),
            "cert": str(cert),
            "key": str(key),
            "tenant_id": "00000000-0000-0000-0000-0000000e5a17",
            "identity_secret": self.identity_secret,
            "identity_client_id": str(uuid.uuid4()),
            "identity_object_id": str(uuid.uuid4()),
            "identity_disabled": self.identity_disabled,
            "vault_denies_identity": self.vault_denies_identity,
            "vault_host": self.vault_host,
            "tracking_host": self.workspace.tracking_host,
            "secrets": self.secrets,
            "run_tokens": self.run_tokens,
            "backend_store_uri": f"sqlite:///{self.folder / 'tracking.db'}",
            "artifact_root": str(self.folder / "artifacts"),
        }
        path = self.folder / "config.json"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.azureml.fake_azure", "--config", str(path)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=(self.folder / "fakes.err").open("ab"),
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        try:
            self.ports = json.loads(line)
        except ValueError:
            _stop(self.process)
            raise RuntimeError(
                f"fake Azure services did not start: {line!r}; see {self.folder / 'fakes.err'}"
            ) from None

    def stop(self) -> None:
        _stop(self.process)

    def __enter__(self) -> AzureFakes:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def client(self) -> Any:
        """An MLflow client on the service side of the tracking fake (no TLS, no workspace prefix)."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.admin_uri)
