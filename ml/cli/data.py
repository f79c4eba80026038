"""`edge-train data`: restore the data DVC tracks, synthesise data, set up and check the ASH remote."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ml.storage.remote import Credential

app = typer.Typer(
    help="The training data: restore it, or generate synthetic data of the same schema.", no_args_is_help=True
)


@app.command("restore")
def restore() -> None:
    """Make data/ match data.dvc: `dvc pull`, or re-create the example data on a fresh clone."""
    from ml.data.restore import ensure_data
    from ml.dvc import open_repo
    from ml.paths import repo_root

    root = repo_root()
    with open_repo(root) as repo:
        ensure_data(repo, root)


@app.command("synth")
def synth(
    rows: int = typer.Option(100_000, min=10, help="number of rows"),
    out: Path = typer.Option(..., help="CSV file to write"),
    seed: int = typer.Option(0),
) -> None:
    """Write synthetic rows of the schema in ml/steps/schema.yaml (no real row copied): benchmarks, tests."""
    from ml import console
    from ml.atomic import atomic_file
    from ml.cli.outputs import check_output_file
    from ml.data.synthetic import write_synthetic_csv

    check_output_file(out, "--out")
    with atomic_file(out) as temp:
        write_synthetic_csv(temp, rows, seed)
    console.done(f"wrote {rows} synthetic rows to {out}")


remote_app = typer.Typer(
    help="The DVC remote on Azure Stack Hub blob storage (docs/data.md).", no_args_is_help=True
)
app.add_typer(remote_app, name="remote")


@remote_app.command("set")
def remote_set(
    account: str = typer.Option("", help="storage account (default: storage.account in edge-train.toml)"),
    container: str = typer.Option("", help="blob container (default: storage.container)"),
    endpoint_suffix: str = typer.Option(
        "", help="e.g. local.azurestack.external (default: storage.endpoint_suffix)"
    ),
    blob_endpoint: str = typer.Option("", help="full blob endpoint URL; wins over account + suffix"),
    credential: str = typer.Option(
        "",
        help="sas or key; default: whichever of AZURE_STORAGE_SAS_TOKEN / AZURE_STORAGE_KEY is set, "
        "else a hidden prompt for a SAS token",
    ),
    name: str = typer.Option("", help="DVC remote name (default: storage.remote)"),
    default: bool = typer.Option(True, "--default/--no-default", help="make it DVC's default remote"),
) -> None:
    """Configure the `azure` DVC remote for ASH: URL in .dvc/config, credential in .dvc/config.local only."""
    from ml import console
    from ml.config import load_settings
    from ml.errors import EdgeTrainError
    from ml.paths import repo_root
    from ml.storage import remote
    from ml.storage.container import ensure_container
    from ml.storage.diagnose import check_sas
    from ml.storage.pin import check_ca_bundle, resolve_pin

    if credential and credential not in remote.CREDENTIAL_KINDS:
        raise EdgeTrainError(f"--credential: unknown kind {credential!r}", hint="use sas or key")
    root = repo_root()
    settings = load_settings(root).storage
    overrides = {
        "account": account,
        "container": container,
        "endpoint_suffix": endpoint_suffix,
        "blob_endpoint": blob_endpoint,
        "remote": name,
    }
    storage = settings.model_copy(update={k: v for k, v in overrides.items() if v})
    if not storage.container:
        raise EdgeTrainError(
            "edge-train.toml: storage.container is not set", hint="set it under [storage] or pass --container"
        )
    endpoint = remote.blob_endpoint(storage)
    secret = remote.credential_from_env(credential or None) or _prompt_credential(credential or "sas")
    if secret.kind == "sas":
        check_sas(secret.secret)
    conn_str = remote.connection_string(endpoint, remote.account_name(storage, endpoint), secret)
    pin = resolve_pin(root)
    check_ca_bundle(pin)
    ensure_container(conn_str, storage.container, pin, uses_sas=secret.kind == "sas")
    remote.configure_dvc_remote(root, storage.remote, storage.container, conn_str, make_default=default)
    console.done(
        f"DVC remote '{storage.remote}' → azure://{storage.container} at {endpoint} "
        f"({secret.kind} kept in .dvc/config.local){', default remote' if default else ''}"
    )


def _prompt_credential(kind: str) -> Credential:
    from ml.storage.remote import Credential, reject_entra

    reject_entra(kind)
    label = "SAS token" if kind == "sas" else "account key"
    return Credential(kind, typer.prompt(label, hide_input=True).strip())


@app.command("doctor")
def doctor(name: str = typer.Option("", help="DVC remote to check (default: storage.remote)")) -> None:
    """Check the ASH remote end to end in seconds: DNS, TCP, TLS, credential, API version, container."""
    from ml.config import load_settings
    from ml.paths import repo_root
    from ml.storage.doctor import Target, run_doctor
    from ml.storage.pin import resolve_pin
    from ml.storage.remote import dvc_connection_string

    root = repo_root()
    remote_name = name or load_settings(root).storage.remote
    container, conn_str = dvc_connection_string(root, remote_name)
    run_doctor(Target(container=container, conn_str=conn_str, pin=resolve_pin(root)))
