"""`edge-train init`, `doctor`, `submit` and `azure attach`: the Azure half, one command each.

azure-ai-ml is imported inside the commands only, so `edge-train --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Azure ML on the edge: attach the Arc-enabled Kubernetes compute and the edge datastore.",
    no_args_is_help=True,
)


@app.command("attach")
def attach() -> None:
    """Create or update the edge compute (infra/compute.yml) and edge datastore (infra/datastore.yml)."""
    from ml.azure.attach import attach as attach_all
    from ml.azure.attach import preflight
    from ml.config import load_settings
    from ml.paths import repo_root

    root = repo_root()
    settings = load_settings(root)
    preflight(root, settings)  # before azure-ai-ml's imports: a settings mistake fails in a second
    from ml.azure.client import workspace_client

    attach_all(workspace_client(settings.azure), root, settings)


def submit(
    pipeline: Path = typer.Argument(Path("pipelines/train.yml"), help="the pipeline YAML"),
    wait: bool = typer.Option(False, "--wait", help="follow the job and download model and metrics"),
    poll: float = typer.Option(15.0, min=1.0, help="seconds between status checks"),
    timeout: float = typer.Option(6 * 3600, min=1.0, help="give up following after this many seconds"),
) -> None:
    """Run the pipeline as an Azure ML job on the edge compute, with the hyperparameters in params.yaml.

    Ctrl-C or SIGTERM (a cancelled workflow) while it is submitted or followed cancels the Azure ML job.
    """
    from ml import console
    from ml.azure.cancel import Interrupted, cancel_job, interruptible
    from ml.azure.client import workspace_client
    from ml.azure.job import build_pipeline_job
    from ml.azure.submit import download_returned, follow, portal_url
    from ml.azure.submit import submit as submit_job
    from ml.config import load_settings
    from ml.errors import EdgeTrainError
    from ml.paths import repo_root

    root = repo_root()
    settings = load_settings(root)
    job = build_pipeline_job(root, settings, pipeline)
    console.done(f"built the job from {pipeline} (outputs with data stay on {settings.azure.edge_datastore})")
    client = workspace_client(settings.azure)
    with interruptible():
        created = None
        try:
            created = submit_job(client, job, root)
            if not wait:
                console.skipped("follow and download", "--wait was not given")
                return
            follow(client, created.name, poll_seconds=poll, timeout_seconds=timeout)
        except Interrupted as interrupted:
            portal = portal_url(created) if created else None
            raise cancel_job(client, job.name, interrupted, portal=portal) from None
        try:
            download_returned(client, created.name, root)
        except Interrupted as interrupted:
            raise EdgeTrainError(
                f"interrupted ({interrupted.name}) while downloading: no local file changed",
                hint=f"the job completed; fetch it with `az ml job download --name {created.name} --all`",
                exit_code=interrupted.exit_code,
            ) from None


def init(
    data: Path | None = typer.Option(
        None, "--data", help="your table (CSV or Parquet): the fork trains on it (docs/own-data.md)"
    ),
    label: str = typer.Option("", help="with --data: the column to predict"),
    task: str = typer.Option(
        "auto", help="with --data: auto, binary, multiclass or regression (auto infers it from the label)"
    ),
    model_name: str = typer.Option(
        "", help="names the registered model, the experiment, the image and the version tags"
    ),
    category_values: bool = typer.Option(
        True,
        help="with --data: list each categorical feature's values in ml/steps/schema.yaml (a tracked file);"
        " --no-category-values keeps them out of git",
    ),
    subscription_id: str = typer.Option("", help="Azure subscription id"),
    tenant_id: str = typer.Option("", help="Entra ID tenant id"),
    client_id: str = typer.Option("", help="client id of the app registration GitHub Actions logs in as"),
    resource_group: str = typer.Option("", help="resource group of the workspace"),
    workspace: str = typer.Option("", help="Azure ML workspace name"),
    compute: str = typer.Option("", help="name of the attached edge compute"),
    arc_cluster_id: str = typer.Option("", help="resource id of the Arc-enabled Kubernetes cluster"),
    storage_endpoint: str = typer.Option(
        "", help="https://<account>.blob.<region>.<fqdn> on Azure Stack Hub"
    ),
    container: str = typer.Option("", help="blob container for DVC data and edge outputs"),
    acr: str = typer.Option("", help="Azure Container Registry name (lowercase, without .azurecr.io)"),
    key_vault_url: str = typer.Option(
        "", help="https://<vault>.vault.azure.net holding the storage secret the job's pods read"
    ),
    github_repo: str = typer.Option("", help="owner/name on GitHub (default: from the origin remote)"),
) -> None:
    """Adopt your table (--data, --label) and personalise this fork; print what to run and commit."""
    from ml import console
    from ml.azure.init import github_repo as origin_repo
    from ml.azure.init import oidc_commands, write_settings
    from ml.azure.names import account_of
    from ml.azure.vault import pod_credential_commands
    from ml.paths import repo_root

    root = repo_root()
    azure_given = any(
        (subscription_id, tenant_id, client_id, resource_group, workspace, compute, arc_cluster_id),
    ) or any((storage_endpoint, container, acr, github_repo))
    if data is not None:
        _adopt(root, data, label, task, model_name, category_values)
        if not azure_given:
            return
    settings = write_settings(
        root,
        {
            "model": {"name": model_name},
            "azure": {
                "subscription_id": subscription_id,
                "tenant_id": tenant_id,
                "client_id": client_id,
                "resource_group": resource_group,
                "workspace": workspace,
                "compute": compute,
                "arc_cluster_id": arc_cluster_id,
                "acr": acr,
                "key_vault_url": key_vault_url.rstrip("/"),
            },
            "storage": {
                "blob_endpoint": storage_endpoint.rstrip("/"),
                "container": container,
                "account": account_of(storage_endpoint) if storage_endpoint else "",
            },
            "image": {"registry": f"{acr}.azurecr.io" if acr else ""},
        },
    )
    repo = github_repo or origin_repo(root)
    if not repo:
        console.warn("no GitHub origin remote: the commands below say <owner>/<repo>; pass --github-repo")
    console.info("Run once (an admin of the subscription and the GitHub repository):")
    for command in oidc_commands(settings, repo or "<owner>/<repo>"):
        console.console.print(f"    {command}", markup=False)
    console.info(
        "And once, so the job's pods can read the storage credential (never in the job or the repo):"
    )
    for command in pod_credential_commands(settings):
        console.console.print(f"    {command}", markup=False)
    console.info("Then check everything with: edge-train doctor")


def doctor() -> None:
    """Check every prerequisite of the Azure run (config, credentials, storage, workspace, compute)."""
    import os

    from rich.markup import escape

    from ml.azure.client import workspace_client
    from ml.azure.doctor import az_cli_logged_in, run_checks
    from ml.console import console
    from ml.errors import EdgeTrainError
    from ml.paths import repo_root

    checks = run_checks(repo_root(), os.environ, az_cli_logged_in(), lambda s: workspace_client(s.azure))
    marks = {"ok": "[green]✓[/green]", "fail": "[red]✗[/red]", "skip": "[yellow]↷[/yellow]"}
    for check in checks:
        if check.status == "skip":
            console.print(f"{marks['skip']} {check.name} [dim]— skipped: {check.fix}[/dim]")
            continue
        console.print(f"{marks[check.status]} {check.name}: {escape(check.detail)}")
        if check.status == "fail":
            console.print(f"    fix: {escape(check.fix)}")
    failures = sum(check.status == "fail" for check in checks)
    if failures:
        raise EdgeTrainError(
            f"{failures} prerequisite(s) missing", hint="apply the fixes above, then run doctor again"
        )


TASKS = ("auto", "binary", "multiclass", "regression")


def _adopt(root: Path, data: Path, label: str, task: str, model_name: str, category_values: bool) -> None:
    from ml import console
    from ml.data.adopt import adopt
    from ml.errors import EdgeTrainError

    if not label:
        raise EdgeTrainError("--data needs --label", hint="pass --label <the column to predict>")
    if task not in TASKS:
        raise EdgeTrainError(f"--task {task!r}", hint=f"use one of: {', '.join(TASKS)}")
    decision = adopt(root, data, label, task, model_name, list_categories=category_values)
    schema = decision.schema
    classes = f", classes {list(schema.classes)}" if schema.classes else ""
    console.done(f"{data.name}: {decision.rows} rows; task {schema.task} on label {schema.label!r}{classes}")
    for feature in schema.features:
        note = (
            f" ({decision.missing[feature.name]} missing: imputed)"
            if feature.name in decision.missing
            else ""
        )
        console.info(f"{feature.kind:<12} {feature.name}{note}")
    for name, why in decision.dropped.items():
        console.warn(f"left out {name!r}: {why} (edit ml/steps/schema.yaml to keep it)")
    for warning in decision.warnings:
        console.warn(warning)
    console.info(
        "Wrote ml/steps/schema.yaml (edit it to override a choice), data/raw/, data.dvc, params.yaml gate,"
        " dvc.yaml."
    )
    console.info(
        "Commit:  git add ml/steps/schema.yaml data.dvc params.yaml dvc.yaml edge-train.toml"
        " pipelines/train.yml"
    )
    console.info("         git commit -m 'Train on my data'")
    console.info("Then:    make run    (and `dvc push` to your data remote, docs/data.md)")
