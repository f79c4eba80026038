"""The environment variables a node's process gets: a clean base, what Azure ML sets, and the component's.

What the service sets in a command job (sources; also in docs/opinions.md):
- `MLFLOW_TRACKING_URI` (`azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/<sub>/resourceGroups/
  <rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>`), `MLFLOW_TRACKING_TOKEN`, `MLFLOW_RUN_ID`
  and `MLFLOW_EXPERIMENT_ID`/`MLFLOW_EXPERIMENT_NAME`: "When you use Azure compute infrastructure, you don't
  have to configure the tracking URI. It's automatically configured for you"
  (https://learn.microsoft.com/azure/machine-learning/how-to-use-mlflow-configure-tracking); azureml-mlflow
  treats a process as a remote run exactly when these four are set (`_mlflow_env_vars_set` in
  azureml/mlflow/_internal/service_context_loader.py) and then authenticates with the token, not an identity.
- `AZUREML_RUN_ID`, `AZUREML_ARM_SUBSCRIPTION`, `AZUREML_ARM_RESOURCEGROUP`, `AZUREML_ARM_WORKSPACE_NAME`,
  `AZUREML_ARM_PROJECT_NAME` (experiment), `AZUREML_SERVICE_ENDPOINT`, `AZUREML_RUN_TOKEN`: the run context
  (azureml/mlflow/_common/constants.py `RunEnvVars`; Azure/MachineLearningNotebooks issue 1014 lists them).
- `AZUREML_CR_EXECUTION_WORKING_DIR_PATH`: the common runtime's working directory (read by azureml-mlflow's
  `__init__`); the snapshot is the working directory.
- `MSI_ENDPOINT` + `MSI_SECRET`: the compute's managed identity. azure-identity's `azure_ml.py` reads exactly
  these ("Azure ML sets the same environment variables as App Service but returns expires_on as an
  integer"). `identity_style="app_service"` gives `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` instead.

Emulator-only additions, named EDGE_TRAIN_EMULATOR_*/PYTHONPATH: the loopback host map and the socket guard
(`nodeboot/sitecustomize.py`, copied next to the job so no path into this checkout reaches the node).
`SSL_CERT_FILE`/`REQUESTS_CA_BUNDLE` point at the CA that signed the fakes' certificates; it stands for the
public CAs an Azure ML image trusts, nothing of ASH.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

NODEBOOT = Path(__file__).with_name("nodeboot")  # copied out of the checkout before a node sees it


@dataclass(frozen=True)
class Workspace:
    subscription_id: str = "00000000-0000-0000-0000-00000000a11c"
    resource_group: str = "rg-edge-train"
    workspace: str = "mlw-edge-train"
    region: str = "westeurope"

    @property
    def tracking_host(self) -> str:
        return f"{self.region}.api.azureml.ms"

    @property
    def scope(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace}"
        )

    @property
    def tracking_uri(self) -> str:
        return f"azureml://{self.tracking_host}/mlflow/v1.0{self.scope}"


@dataclass(frozen=True)
class RunContext:
    """What the service knows about one node's run when it starts the container."""

    run_id: str
    experiment_id: str
    experiment_name: str
    run_token: str
    working_dir: Path
    venv: Path
    home: Path


def node_environment(
    workspace: Workspace,
    run: RunContext,
    *,
    identity_endpoint: str,
    identity_secret: str,
    identity_style: str,
    ca_file: Path,
    hosts: dict[str, int],
    component_variables: dict[str, str],
    nodeboot: Path,
) -> dict[str, str]:
    env = {
        "PATH": f"{run.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(run.home),
        "TMPDIR": str(run.home / "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "AZUREML_RUN_ID": run.run_id,
        "AZUREML_ARM_SUBSCRIPTION": workspace.subscription_id,
        "AZUREML_ARM_RESOURCEGROUP": workspace.resource_group,
        "AZUREML_ARM_WORKSPACE_NAME": workspace.workspace,
        "AZUREML_ARM_PROJECT_NAME": run.experiment_name,
        "AZUREML_SERVICE_ENDPOINT": f"https://{workspace.tracking_host}",
        "AZUREML_RUN_TOKEN": run.run_token,
        "AZUREML_CR_EXECUTION_WORKING_DIR_PATH": str(run.working_dir),
        "MLFLOW_TRACKING_URI": workspace.tracking_uri,
        "MLFLOW_TRACKING_TOKEN": run.run_token,
        "MLFLOW_RUN_ID": run.run_id,
        "MLFLOW_EXPERIMENT_ID": run.experiment_id,
        "MLFLOW_EXPERIMENT_NAME": run.experiment_name,
        "SSL_CERT_FILE": str(ca_file),
        "REQUESTS_CA_BUNDLE": str(ca_file),
        "PYTHONPATH": str(nodeboot),
        "EDGE_TRAIN_EMULATOR_HOSTS": json.dumps(hosts),
    }
    if identity_style == "app_service":
        env |= {"IDENTITY_ENDPOINT": identity_endpoint, "IDENTITY_HEADER": identity_secret}
    else:
        env |= {"MSI_ENDPOINT": identity_endpoint, "MSI_SECRET": identity_secret}
    return env | component_variables
