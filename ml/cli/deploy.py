"""`edge-train deploy`: serve the promoted version on a `[deploy.<name>]` target (docs/deploy.md)."""

from __future__ import annotations

import typer


def deploy(
    version: str = typer.Argument(
        None, help="<model>@vX.Y.Z, vX.Y.Z or X.Y.Z; default: the version promoted to production"
    ),
    target: str = typer.Option(
        None, "--target", help="a \\[deploy.<name>] of edge-train.toml; default: the one marked default"
    ),
    apply: bool = typer.Option(
        False, "--apply", help="kubernetes targets: kubectl apply and wait for the rollout"
    ),
    rollback: bool = typer.Option(
        False, "--rollback", help="return the target to the version it served before"
    ),
    check: bool = typer.Option(
        False, "--check", help="only check the target's deployments send no scoring payloads to the cloud"
    ),
) -> None:
    """Deploy a promoted version: checked first, smoke-tested beside the current one, then given traffic."""
    from ml.paths import repo_root

    root = repo_root()
    if check:
        from ml.deploy.residency import check_target

        check_target(root, target)
        return
    from ml.deploy.run import deploy as run_deploy

    run_deploy(root, version, target, apply=apply, rollback=rollback)
