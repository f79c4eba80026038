"""A fresh clone of this project wired for an emulated edge run: its DVC remote on the "ASH" stack (HTTPS,
private CA), the data pushed there, and the Key Vault secret the pods read. Shared by the end-to-end test
and `benchmarks/bench_emulated_job.py`, so both run the same thing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.harness.azureml.runner import Emulator, JobResult
from tests.harness.azureml.services import AzureFakes
from tests.harness.servers import ACCOUNT_KEY, Stack, account_sas
from tests.integration.clone import edge_train

PIPELINE = Path("pipelines/train.yml")
VAULT_NAME = "kv-edge-train"


def dvc_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGE_TRAIN_", "AZURE_STORAGE_"))}
    return {
        **env,
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        **extra,
    }


def connect_to_ash(clone: Path, stack: Stack) -> None:
    """Point the clone at the stack (as `edge-train init` and `data remote set` do), push the data, commit."""
    assert stack.ca is not None, "run the stack with tls=True: ASH endpoints use a private CA"
    (clone / "ash-ca.pem").write_bytes(
        stack.ca.read_bytes()
    )  # a CA certificate is public: it may be committed
    (clone / "edge-train.toml").write_text(
        f'[storage]\nremote = "ash"\ncontainer = "edge-train"\nblob_endpoint = "{stack.blob_endpoint}"\n'
        'ca_bundle = "ash-ca.pem"\n'
        f'[azure]\nkey_vault_url = "https://{VAULT_NAME}.vault.azure.net"\n'
    )
    remote = edge_train(
        clone, "data", "remote", "set", "--credential", "key", env={"AZURE_STORAGE_KEY": ACCOUNT_KEY}
    )
    assert remote.returncode == 0, remote.stdout + remote.stderr
    pushed = subprocess.run(
        [sys.executable, "-m", "dvc", "push", "-r", "ash"],
        cwd=clone,
        env=dvc_env(),
        capture_output=True,
        text=True,
    )
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    subprocess.run(["git", "add", "-A"], cwd=clone, check=True)
    subprocess.run(["git", "commit", "-qm", "ASH remote"], cwd=clone, check=True)


def vault_secrets(clone: Path, stack: Stack) -> dict[str, str]:
    """The secret the pods read: a connection string with a SAS, as `edge-train init` tells users to store."""
    from ml.config import load_settings

    name = getattr(load_settings(clone).azure, "storage_secret", "edge-train-storage")
    sas = account_sas(datetime.now(UTC) + timedelta(hours=2))
    return {name: f"BlobEndpoint={stack.blob_endpoint};SharedAccessSignature={sas}"}


def emulator(root: Path, folder: Path, fakes: AzureFakes) -> Emulator:
    """The job `submit` would send, its code the snapshot submit uploads (kept in `folder`), ready to run."""
    from ml.azure.job import build_pipeline_job
    from ml.azure.snapshot import materialise, use_snapshot
    from ml.config import load_settings

    settings = load_settings(root)
    job = build_pipeline_job(root, settings, PIPELINE)
    use_snapshot(job, root, materialise(root, folder / "code"))
    return Emulator(job, folder, fakes, unreachable_datastores=(settings.azure.edge_datastore,))


# What DVC prints when it does not run a stage: restored from the run cache, or already up to date.
RESTORED = "is cached - skipping run"
SKIPPED = (RESTORED, "didn't change, skipping")


def skipped(text: str) -> bool:
    return any(message in text for message in SKIPPED)


def emulate(root: Path, folder: Path, fakes: AzureFakes) -> JobResult:
    return emulator(root, folder, fakes).run()
