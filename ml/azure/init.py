"""`edge-train init`: personalise a fresh fork in one file, and print the one-time Azure/GitHub commands.

Values are checked before anything is written (the same checks `load_settings` applies), and the file is
replaced atomically: a typo leaves the previous edge-train.toml untouched. Secrets are never asked for.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ml import console
from ml.atomic import atomic_write_text
from ml.azure.names import check_blob_endpoint
from ml.config import Settings
from ml.errors import EdgeTrainError
from ml.paths import SETTINGS_FILE
from ml.validation import describe_validation_error

OIDC_ISSUER = "https://token.actions.githubusercontent.com"


def merge_settings(root: Path, updates: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The existing edge-train.toml with `updates` applied (empty values are left out: not given)."""
    path = root / SETTINGS_FILE
    raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for section, values in updates.items():
        given = {key: value for key, value in values.items() if value}
        if given:
            raw.setdefault(section, {}).update(given)
    return raw


def to_toml(raw: dict[str, Any]) -> str:
    """A minimal TOML writer for our shape (scalars, one level of tables): no extra dependency needed."""

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return json.dumps(str(value))  # a JSON string is a valid TOML basic string

    lines = ["# edge-train settings of this fork (written by `edge-train init`; secrets never go here)."]
    lines += [f"{key} = {scalar(value)}" for key, value in raw.items() if not isinstance(value, dict)]
    for section, values in raw.items():
        if isinstance(values, dict):
            lines += ["", f"[{section}]", *(f"{key} = {scalar(value)}" for key, value in values.items())]
    return "\n".join(lines) + "\n"


def write_settings(root: Path, updates: dict[str, dict[str, str]]) -> Settings:
    path = root / SETTINGS_FILE
    endpoint = updates.get("storage", {}).get("blob_endpoint", "")
    try:
        check_blob_endpoint(endpoint)
    except ValueError as exc:
        raise EdgeTrainError(
            f"{path}: storage.blob_endpoint: {exc} (got {endpoint!r})",
            hint="pass --storage-endpoint https://<account>.blob.<region>.<fqdn>",
        ) from None
    raw = merge_settings(root, updates)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise describe_validation_error(path, exc) from None
    atomic_write_text(path, to_toml(raw))
    console.done(f"wrote {SETTINGS_FILE}")
    return settings


def github_repo(root: Path) -> str | None:
    """`owner/name` of the `origin` remote on GitHub, if there is one."""
    result = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=root, capture_output=True, text=True, check=False
    )
    match = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?/?$", result.stdout.strip())
    return match[1] if match else None


def oidc_commands(settings: Settings, repo: str) -> list[str]:
    """The one-time commands that let Actions log in with OIDC (no secret) and do only what it must."""
    azure = settings.azure
    client = azure.client_id or "<app-client-id>"
    scope_rg = (
        f"/subscriptions/{azure.subscription_id or '<subscription-id>'}/resourceGroups/"
        f"{azure.resource_group or '<resource-group>'}"
    )
    workspace_scope = (
        f"{scope_rg}/providers/Microsoft.MachineLearningServices/workspaces/"
        f"{azure.workspace or '<workspace>'}"
    )
    acr_scope = f"{scope_rg}/providers/Microsoft.ContainerRegistry/registries/{azure.acr or '<acr>'}"
    commands = [
        f"gh variable set AZURE_CLIENT_ID --repo {repo} --body {client}",
        f"gh variable set AZURE_TENANT_ID --repo {repo} --body {azure.tenant_id or '<tenant-id>'}",
        f"gh variable set AZURE_SUBSCRIPTION_ID --repo {repo} "
        f"--body {azure.subscription_id or '<subscription-id>'}",
    ]
    for name, subject in (
        ("edge-train-main", f"repo:{repo}:ref:refs/heads/main"),
        ("edge-train-pr", f"repo:{repo}:pull_request"),
        ("edge-train-production", f"repo:{repo}:environment:production"),
    ):
        parameters = json.dumps(
            {
                "name": name,
                "issuer": OIDC_ISSUER,
                "subject": subject,
                "audiences": ["api://AzureADTokenExchange"],
            }
        )
        commands.append(f"az ad app federated-credential create --id {client} --parameters '{parameters}'")
    commands += [
        f'az role assignment create --assignee {client} --role "AzureML Data Scientist" '
        f"--scope {workspace_scope}",
        f'az role assignment create --assignee {client} --role "AcrPush" --scope {acr_scope}',
    ]
    return commands
