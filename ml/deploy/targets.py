"""Pick the `[deploy.<name>]` target a command means, or say in one line which ones exist."""

from __future__ import annotations

from ml.config import DeployTarget, Settings
from ml.errors import EdgeTrainError
from ml.paths import SETTINGS_FILE


def choose_target(settings: Settings, name: str | None) -> tuple[str, DeployTarget]:
    """The named target; without a name the one marked `default = true`, or the only one declared."""
    targets = settings.deploy
    declared = ", ".join(sorted(targets)) or "none"
    if name:
        if name not in targets:
            raise EdgeTrainError(
                f"no deploy target {name!r} in {SETTINGS_FILE} (declared: {declared})",
                hint=f'add [deploy.{name}] with kind = "kubernetes", "arc" or "cloud" (docs/deploy.md)',
            )
        return name, targets[name]
    defaults = [n for n, t in targets.items() if t.default] or (list(targets) if len(targets) == 1 else [])
    if len(defaults) != 1:
        raise EdgeTrainError(
            f"no default deploy target in {SETTINGS_FILE} (declared: {declared})",
            hint="give --target NAME, or set default = true in exactly one [deploy.<name>] section",
        )
    return defaults[0], targets[defaults[0]]


def require_azure_fields(name: str, target: DeployTarget) -> None:
    """arc and cloud targets need an endpoint name and an instance type before any call to Azure."""
    missing = [key for key in ("endpoint", "instance_type") if not getattr(target, key)]
    if missing:
        example = "Standard_DS3_v2" if target.kind == "cloud" else "defaultinstancetype"
        raise EdgeTrainError(
            f"{SETTINGS_FILE}: deploy.{name}: {', '.join(missing)} not set (a {target.kind} target needs it)",
            hint=f'set endpoint = "<3-32 letters, digits, ->" and instance_type = "{example}"',
        )


def require_registry(name: str, registry: str) -> None:
    """Azure ML pulls the image from a registry (ACR): an OCI layout on this machine cannot be served."""
    if not registry:
        raise EdgeTrainError(
            f"[deploy.{name}] pulls the image from a registry, but {SETTINGS_FILE} [image] registry is empty",
            hint='set [image] registry = "<acr>.azurecr.io" and run edge-train push',
        )
