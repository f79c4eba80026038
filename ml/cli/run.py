"""`edge-train run`: the whole local job, data → prepare → train → evaluate → export → release."""

from __future__ import annotations

import typer


def run(
    release: bool = typer.Option(True, help="register and release the model after training"),
    synthetic_if_unreachable: bool = typer.Option(
        False,
        "--synthetic-if-unreachable",
        help="when the data's DVC remote cannot be reached (a fork's pull request), train on synthetic rows "
        "of the schema instead of failing; data.dvc is rewritten to name them",
    ),
) -> None:
    """Run the pipeline with DVC on this machine, then register the model in the MLflow registry.

    Every step that is already up to date is skipped, and the output says so.
    """
    from ml import console
    from ml.config import load_settings
    from ml.data.restore import ensure_data
    from ml.dvc import open_repo
    from ml.errors import EdgeTrainError
    from ml.lineage import RUN_OUTPUTS, uncommitted_run_outputs
    from ml.mlflow_store import follow_move
    from ml.params import load_params
    from ml.paths import METRICS_FILE, MODEL_DIR, PARAMS_FILE, PLOTS_DIR, SETTINGS_FILE, repo_root
    from ml.pipeline.sync import ensure_compiled
    from ml.pipeline_run import remove_leftovers, reproduce
    from ml.step_runs import log_restored_steps
    from ml.tracking import spooled_logging
    from ml.warm import warm_steps

    root = repo_root()
    if synthetic_if_unreachable and release:
        raise EdgeTrainError(
            "--synthetic-if-unreachable trains on synthetic rows: such a model is never released",
            hint="add --no-release (as the pull-request workflow does)",
        )
    load_params(root)
    load_settings(root)  # a typo in edge-train.toml fails now, not after the pipeline ran
    console.done(f"{PARAMS_FILE} and {SETTINGS_FILE} are valid")
    follow_move(root)  # a moved checkout's MLflow store still points at the old folder
    ensure_compiled(root)
    with open_repo(root) as repo:
        ensure_data(repo, root, synthetic_if_unreachable)
        remove_leftovers(root)
        with spooled_logging(), warm_steps(root):
            ran = reproduce(repo)
        log_restored_steps(repo, root, ran)
    console.info(f"metrics: {METRICS_FILE}   plots: {PLOTS_DIR}/   model: {MODEL_DIR}/")
    if release:
        from ml.release.pipeline import release

        release(root)
    else:
        console.skipped("register", "--no-release was given")
    if written := uncommitted_run_outputs(root):
        shown = ", ".join(written[:4]) + (f" and {len(written) - 4} more" if len(written) > 4 else "")
        console.info(
            f"the run changed {shown}: commit them with the code that made them (git add "
            f"{' '.join(RUN_OUTPUTS)} && git commit); a pull request's report compares with what is committed"
        )
