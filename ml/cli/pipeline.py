"""`edge-train pipeline compile|validate`: the Azure ML YAML is the step graph, dvc.yaml its compilation."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Validate the Azure ML pipeline offline and compile it into dvc.yaml.", no_args_is_help=True
)


@app.command()
def compile(
    pipeline: Path | None = typer.Argument(None, help="pipeline YAML (default: pipelines/train.yml)"),
    check: bool = typer.Option(False, "--check", help="write nothing; fail if dvc.yaml is out of date"),
) -> None:
    """Write dvc.yaml from the pipeline and its components (deterministic: same YAML, same bytes)."""
    from ml import console
    from ml.errors import EdgeTrainError
    from ml.paths import DVC_FILE, PIPELINE_FILE, repo_root
    from ml.pipeline.sync import is_stale, write_compiled

    root = repo_root()
    source = pipeline.resolve() if pipeline else root / PIPELINE_FILE
    shown = pipeline or PIPELINE_FILE
    if not source.is_file() or not source.is_relative_to(root.resolve()):
        raise EdgeTrainError(
            f"{shown}: no such pipeline file in {root}",
            hint="give the path of a pipeline YAML inside the repository, e.g. pipelines/train.yml",
        )
    if check:
        if is_stale(root, source):
            raise EdgeTrainError(
                f"{DVC_FILE} is out of date with {shown} (or params.yaml, or its components)",
                hint=f"run `edge-train pipeline compile {shown}` and commit {DVC_FILE}",
            )
        console.done(f"{DVC_FILE} is up to date with {shown}")
    elif write_compiled(root, source):
        console.done(f"wrote {DVC_FILE} from {shown}")
    else:
        console.skipped(f"write {DVC_FILE}", f"already up to date with {shown}")


@app.command()
def validate(
    paths: list[Path] | None = typer.Argument(None, help="pipeline/component YAML files (default: all)"),
    sdk: bool | None = typer.Option(
        None,
        "--sdk/--no-sdk",
        help="always / never run azure-ai-ml's loaders and _validate() (3+ s to import); default: only for "
        "files the derived key tables cannot describe",
    ),
    cache: bool = typer.Option(True, help="reuse azure-ai-ml's verdict on files whose bytes are unchanged"),
) -> None:
    """Check pipelines and components offline: azure-ai-ml's checks, then the ones it misses offline."""
    from rich.markup import escape

    from ml import console
    from ml.config import load_settings
    from ml.errors import EdgeTrainError
    from ml.params import read_params_file
    from ml.paths import PARAMS_FILE, STATE_DIR, repo_root
    from ml.pipeline.validate import default_paths, validate_file

    root = repo_root()
    edge = load_settings(root).azure.edge_datastore
    params = read_params_file(root / PARAMS_FILE)
    files = paths or default_paths(root)
    cache_dir = root / STATE_DIR / "validate-cache" if cache else None
    errors = 0
    for file in files:
        findings = validate_file(file, edge_datastore=edge, params=params, use_sdk=sdk, cache_dir=cache_dir)
        findings.sort(key=lambda finding: finding.sort_key())
        for finding in findings:
            if finding.severity == "error":
                errors += 1
                console.err_console.print(f"[red]error:[/red] {escape(finding.render())}")
            else:
                console.warn(escape(finding.render()))
        if not any(f.severity == "error" for f in findings):
            console.done(f"{file}: valid")
    if errors:
        raise EdgeTrainError(
            f"{errors} problem(s) in {len(files)} file(s)",
            hint="fix each problem at the file and line shown, then validate again",
        )
