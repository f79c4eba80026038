"""Make `data/` match `data.dvc` before a run: pull it, or on a fresh clone re-create the example data.

A fresh clone has an empty local remote, so `dvc pull` cannot work yet; because the example export is
deterministic, writing it gives exactly the bytes `data.dvc` records, and we push them so that every later
`dvc pull` works as it would against a real remote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ml import console
from ml.config import load_settings
from ml.errors import EdgeTrainError
from ml.paths import DATA_DIR, RAW_DATA_DIR, STATE_DIR

if TYPE_CHECKING:
    from dvc.repo import Repo

DATA_DVC = "data.dvc"


# Rows written when the data's remote cannot be reached and synthetic data was asked for instead.
SYNTHETIC_ROWS = 500
# What `use_synthetic` leaves for the report: the stand-in's data hash and why it stood in.
STAND_IN_FILE = f"{STATE_DIR}/stand-in-data.json"


def ensure_data(repo: Repo, root: Path, synthetic_if_unreachable: bool = False) -> None:
    """Restore data/ when it is missing; stop when it holds other data than data.dvc records.

    Never trains on a working copy that disagrees with data.dvc: DVC would then record that copy's hash in
    data.dvc, undoing a committed data change (or recording a failed run's bad data) behind the user's back.
    `synthetic_if_unreachable` (a fork's pull request, which gets no credential for the data's remote): when
    the pull fails, train on synthetic rows of the schema instead, saying so (see `use_synthetic`).
    """
    if not (root / DATA_DVC).is_file():
        raise EdgeTrainError(
            f"{root / DATA_DVC}: not found", hint="track your data with `dvc add data` and commit data.dvc"
        )
    if not repo.status(targets=[DATA_DVC]):
        console.skipped("restore data/", f"it matches {DATA_DVC}")
        return
    data_dir = root / DATA_DIR
    if data_dir.exists() and any(path.is_file() for path in data_dir.rglob("*")):
        raise EdgeTrainError(
            f"{DATA_DIR}/ holds other data than {DATA_DVC} records: choose which one to train on",
            hint=f"keep {DATA_DVC} (the committed data; discards the files in {DATA_DIR}/): "
            f"`dvc pull --force {DATA_DVC}`; keep {DATA_DIR}/ (your changes): `dvc add {DATA_DIR}` "
            f"and commit {DATA_DVC}",
        )
    from dvc.exceptions import DvcException

    from ml.dvc import dvc_cause

    remote = repo.config["core"].get("remote")
    local_remote = load_settings(root).data.local_remote
    if remote == local_remote and not _in_local_remote(repo, root, local_remote):
        seed_example(repo, root, pull_error=f"the '{local_remote}' remote does not hold it yet")
        return
    try:
        repo.pull(targets=[DATA_DVC])
    except DvcException as exc:
        if remote != local_remote and synthetic_if_unreachable:
            use_synthetic(repo, root, remote, dvc_cause(exc))
            return
        if remote != local_remote:
            raise EdgeTrainError(
                f"`dvc pull` of {DATA_DVC} from the '{remote}' remote failed: {dvc_cause(exc)}",
                hint="run `edge-train data doctor` to check the remote (endpoint, credential, container)",
            ) from None
        seed_example(repo, root, pull_error=dvc_cause(exc))
        return
    console.done(f"restored {DATA_DIR}/ with `dvc pull`")


def use_synthetic(repo: Repo, root: Path, remote: str, cause: str) -> None:
    """Write synthetic rows of the schema to data/ and record them in data.dvc, with a one-line notice.

    data.dvc then names the data that really trained (so the report sees other data than the base's and does
    not judge the drop); the checkout is a throwaway one (a pull request's runner), nothing is pushed.
    """
    from ml.atomic import atomic_write_text
    from ml.data.synthetic import synthetic_frame

    frame = synthetic_frame(SYNTHETIC_ROWS, seed=0)
    atomic_write_text(root / RAW_DATA_DIR / "synthetic.csv", frame.to_csv(index=False, lineterminator="\n"))
    repo.commit(DATA_DVC, force=True)
    why = f"the '{remote}' remote holding {DATA_DVC}'s data is unreachable here: {' '.join(cause.split())}"
    record = {"data_hash": _recorded_hash(root), "reason": why}
    atomic_write_text(root / STAND_IN_FILE, json.dumps(record, indent=2) + "\n")
    console.skipped(
        f"`dvc pull` of {DATA_DVC} from the '{remote}' remote",
        f"unreachable here ({' '.join(cause.split())}); trained on {SYNTHETIC_ROWS} synthetic rows of the "
        "schema instead: the metrics say nothing about your data",
    )


def stand_in_reason(root: Path) -> str | None:
    """Why the current data.dvc names synthetic stand-in rows, when `use_synthetic` wrote them; else None."""
    try:
        record = json.loads((root / STAND_IN_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("data_hash") != _recorded_hash(root):
        return None
    return str(record.get("reason") or "synthetic stand-in rows")


def _recorded_hash(root: Path) -> str | None:
    import yaml

    try:
        record = yaml.safe_load((root / DATA_DVC).read_text(encoding="utf-8")) or {}
        return str(record["outs"][0]["md5"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def _in_local_remote(repo: Repo, root: Path, name: str) -> bool:
    """Whether the local-folder remote holds the directory object data.dvc records (DVC 3 layout).

    Checked before pulling so that a fresh clone's first run does not print DVC's "Missing cache files"
    warning for the empty remote it is about to seed.
    """
    import yaml

    url = repo.config["remote"].get(name, {}).get("url", "")
    record = yaml.safe_load((root / DATA_DVC).read_text(encoding="utf-8")) or {}
    md5 = str((record.get("outs") or [{}])[0].get("md5", ""))
    if not url or "://" in url or len(md5) < 3:
        return True  # not a plain folder, or an unusual record: let `dvc pull` decide
    folder = Path(url) if Path(url).is_absolute() else root / ".dvc" / url
    return (folder / "files" / "md5" / md5[:2] / md5[2:]).exists()


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
