"""The first step of the Azure ML job: `dvc pull` the data from Azure Stack Hub blob storage, on the edge.

Run as `python -m ml.data.fetch --out DIR` by components/fetch_data.yml. The job's code snapshot has no `.git`
(DVC then refuses to work) and no `.dvc/config.local` (secrets never enter the snapshot), so this step:
- opens the snapshot with `core.no_scm` set in memory only,
- takes the storage credential from the job's environment (`AZURE_STORAGE_CONNECTION_STRING`, or
  `AZURE_STORAGE_SAS_TOKEN` with the endpoint from edge-train.toml) or from a file mounted from a Kubernetes
  secret (`EDGE_TRAIN_STORAGE_SECRET_FILE`), never from the repository,
- pulls data.dvc from the remote named by `--remote` (or from `--remote-url`, e.g. the edge datastore
  mounted by Azure ML, so that no credential enters the container at all) and copies data/raw into the
  output folder, which pipelines/train.yml places on the edge datastore.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from ml.config import load_settings
from ml.dvc import READ_ONLY_CACHE_TYPE, prepare_environment
from ml.errors import EdgeTrainError
from ml.paths import RAW_DATA_DIR

SECRET_FILE_ENV = "EDGE_TRAIN_STORAGE_SECRET_FILE"
CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
SAS_ENV = "AZURE_STORAGE_SAS_TOKEN"


def storage_connection_string(root: Path) -> str | None:
    """The credential for the DVC remote, from the environment or a mounted secret; None if neither is set.

    None lets a remote that needs no credential (a local folder in tests, or a config already complete) work.
    """
    if os.environ.get(CONNECTION_STRING_ENV):
        return os.environ[CONNECTION_STRING_ENV]
    secret_file = os.environ.get(SECRET_FILE_ENV)
    if secret_file:
        path = Path(secret_file)
        if not path.is_file():
            raise EdgeTrainError(
                f"{SECRET_FILE_ENV}={secret_file}: no such file in the job's container",
                hint="mount the Kubernetes secret holding the connection string at that path",
            )
        return path.read_text(encoding="utf-8").strip()
    if os.environ.get(SAS_ENV):
        storage = load_settings(root).storage
        if not storage.blob_endpoint:
            raise EdgeTrainError(
                "edge-train.toml: storage.blob_endpoint not set, needed with a SAS token",
                hint="run `edge-train init --storage-endpoint https://<account>.blob.<region>.<fqdn>`",
            )
        return f"BlobEndpoint={storage.blob_endpoint};SharedAccessSignature={os.environ[SAS_ENV].lstrip('?')}"
    return None


def dvc_overrides(remote_url: str | None) -> dict:
    """DVC config applied in memory only: no git in the snapshot, links instead of copies from the cache,
    and optionally a remote given by the job.

    `--remote-url` lets the job hand DVC a folder Azure ML mounted from the edge datastore: the datastore's
    credential then stays in the workspace and never enters the container.
    """
    config: dict = {"core": {"no_scm": True}, "cache": {"type": READ_ONLY_CACHE_TYPE}}
    if remote_url:
        config["core"]["remote"] = "job"
        config["remote"] = {"job": {"url": remote_url}}
    return config


def fetch(root: Path, out: Path, remote: str | None, remote_url: str | None = None) -> int:
    """Pull data.dvc into `root` (a snapshot without .git), copy data/raw to `out`; return the file count."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    connection = storage_connection_string(root)
    if connection:
        os.environ[CONNECTION_STRING_ENV] = connection  # read by dvc-azure; this process only
    prepare_environment()  # the same DVC set-up as local runs (and where storage pins belong)
    try:
        with Repo(str(root), config=dvc_overrides(remote_url)) as repo:
            repo.pull(targets=["data.dvc"], remote=None if remote_url else remote)
    except DvcException as exc:
        raise EdgeTrainError(
            f"dvc pull in the job failed: {' '.join(str(exc).split())}",
            hint="check the storage credential given to the job and the remote in .dvc/config "
            "(`edge-train doctor` tests both from your machine)",
        ) from None
    raw = root / RAW_DATA_DIR
    files = [path for path in raw.rglob("*") if path.is_file()]
    # Not atomic_output_dir: in the job `out` is a mount point that cannot be renamed, and Azure ML discards
    # the output of a failed step anyway.
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(raw, out, dirs_exist_ok=True)
    return len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the raw data to")
    parser.add_argument(
        "--remote",
        default=os.environ.get("EDGE_TRAIN_DVC_REMOTE") or None,
        help="DVC remote to pull from (default: the one .dvc/config names)",
    )
    parser.add_argument(
        "--remote-url",
        default=None,
        help="pull from this URL or folder instead (e.g. the edge datastore mounted as an input)",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the code snapshot (default: cwd)")
    args = parser.parse_args(argv)
    try:
        count = fetch(args.root.resolve(), args.out, args.remote, args.remote_url)
    except EdgeTrainError as exc:
        print(f"error: {exc}")
        return exc.exit_code
    print(f"fetched {count} files into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
