"""`edge-train register | version | promote | package | push`: ship the trained model, one step at a time.

`edge-train run` does all of them in order (see `ml.release.pipeline.release`); these commands let a user or
a workflow run or retry one step. Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import typer


def register(
    target: str = typer.Option("local", help="local: MLflow model registry; azure: Azure ML model registry"),
) -> None:
    """Register the trained model with its lineage tags; registering the same model again changes nothing."""
    from ml.paths import repo_root

    root = repo_root()
    if target == "azure":
        from ml.release.register import azure_ml_client, register_azure

        register_azure(root, azure_ml_client(root))
    elif target == "local":
        from ml.release.register import register_local

        register_local(root)
    else:
        raise typer.BadParameter("choose local or azure", param_hint="--target")


PUSH_HELP = (
    "push the tag to origin; with GITHUB_TOKEN set and an https GitHub origin the token authenticates the "
    "push through git's environment (never the command line or .git/config)"
)


def version(
    number: str = typer.Option(None, "--version", help="force vX.Y.Z instead of the automatic bump"),
    push: bool = typer.Option(False, "--push", help=PUSH_HELP),
) -> None:
    """Tag the model `<model>@vX.Y.Z` (GTO format) on a committed tree, with its published image's digest."""
    from ml.errors import EdgeTrainError
    from ml.paths import repo_root
    from ml.release.pipeline import register_and_version
    from ml.release.version import SEMVER

    if number is not None and not SEMVER.match(number):  # before anything is registered
        raise EdgeTrainError(f"--version {number!r}: expected vX.Y.Z", hint="e.g. --version v1.2.0")
    root = repo_root()
    rel = register_and_version(root, number)
    if push:
        from ml.release.gitpush import push_tags

        push_tags(root, [rel.ref])


def promote(
    ref: str = typer.Argument(
        ..., help="<model>@vX.Y.Z, or vX.Y.Z / X.Y.Z of the model named in edge-train.toml"
    ),
    stage: str = typer.Option("production", help="the stage; `production` is what the report reads"),
    push: bool = typer.Option(False, "--push", help=PUSH_HELP.replace("the tag", "the stage tag")),
) -> None:
    """Assign a stage: GTO's stage tag, the MLflow alias of the same name, and a stage tag in Azure ML."""
    from ml.paths import repo_root
    from ml.release.promote import promote_version

    root = repo_root()
    tag = promote_version(root, ref, stage)
    if push:
        from ml.release.gitpush import push_tags

        push_tags(root, [tag])


def package() -> None:
    """Export the portable ONNX model (with its parity check) and write the image build context."""
    from ml.paths import repo_root
    from ml.release.pipeline import package as write_package
    from ml.release.pipeline import plan_release

    root = repo_root()
    write_package(root, plan_release(root))


def push() -> None:
    """Build the image (buildah, no daemon) and push it; skipped when the destination already holds it."""
    from ml.paths import repo_root
    from ml.release.pipeline import package as write_package
    from ml.release.pipeline import plan_release, push_image

    root = repo_root()
    rel = plan_release(root)
    push_image(root, rel, write_package(root, rel), retry_failed_build=True, required=True)


COMMANDS = {"register": register, "version": version, "promote": promote, "package": package, "push": push}


def add_commands(app: typer.Typer) -> None:
    """Add the release commands at the top level of `app`."""
    for name, command in COMMANDS.items():
        app.command(name)(command)
