"""Make `data/` match `data.dvc` before a run: pull it, or on a fresh clone re-create the example data.

A fresh clone has an empty local remote, so `dvc pull` cannot work yet; because the example export is
deterministic, writing it gives exactly the bytes `data.dvc` records, and we push them so that every later
`dvc pull` works as it would against a real remote.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ml import console
from ml.config import load_settings
from ml.errors import EdgeTrainError
from ml.paths import DATA_DIR, RAW_DATA_DIR

if TYPE_CHECKING:
    from dvc.repo import Repo

DATA_DVC = "data.dvc"


def ensure_data(repo: Repo, root: Path) -> None:
    if not (root / DATA_DVC).is_file():
        raise EdgeTrainError(
            f"{root / DATA_DVC}: not found", hint="track your data with `dvc add data` and commit data.dvc"
        )
    if not repo.status(targets=[DATA_DVC]):
        console.skipped("restore data/", f"it matches {DATA_DVC}")
        return
    data_dir = root / DATA_DIR
    if data_dir.exists() and any(data_dir.rglob("*.csv")):
        console.warn(
            f"{DATA_DIR}/ differs from {DATA_DVC}: training on the working copy; "
            f"record it with `dvc add {DATA_DIR}` when you are happy with it"
        )
        return
    from dvc.exceptions import DvcException

    try:
        repo.pull(targets=[DATA_DVC])
    except DvcException as exc:
        seed_example(repo, root, pull_error=str(exc))
        return
    console.done(f"restored {DATA_DIR}/ with `dvc pull`")


def seed_example(repo: Repo, root: Path, pull_error: str) -> None:
    """Write the example export; keep it only if its hash is the one data.dvc records, then push it."""
    import shutil

    from ml.data.example import export_example, is_example_schema
    from ml.steps.schema import load_schema

    data_dvc = root / DATA_DVC
    recorded = data_dvc.read_text()
    if not is_example_schema(load_schema()):
        raise _not_in_remote(pull_error)
    export_example(root / RAW_DATA_DIR)
    repo.commit(DATA_DVC, force=True)  # hashes data/ into the cache; rewrites data.dvc if the hash differs
    if data_dvc.read_text() != recorded:
        data_dvc.write_text(recorded)
        shutil.rmtree(root / DATA_DIR)
        raise _not_in_remote(pull_error)
    remote = load_settings(root).data.local_remote
    repo.push(targets=[DATA_DVC], remote=remote)
    console.done(
        f"re-created the example data in {RAW_DATA_DIR}/ (hash matches {DATA_DVC}) "
        f"and pushed it to the '{remote}' DVC remote"
    )


def _not_in_remote(pull_error: str) -> EdgeTrainError:
    return EdgeTrainError(
        f"{DATA_DVC} records data that is not in the DVC remote, and it is not the example data "
        f"(dvc pull said: {' '.join(pull_error.split())})",
        hint="configure the remote that holds your data (`edge-train data remote set`, docs/data.md) "
        "and run `dvc pull`",
    )
