"""`python -m ml.edge.node TARGET ...`: one Azure ML pipeline node = one DVC stage, run on the edge.

Azure ML's own data runtime cannot talk to Azure Stack Hub (it cannot be pinned to API version 2019-07-07 or
given the private CA), so data never flows through Azure ML. Each node instead, in the job's code snapshot:

1. reads the storage credential from Key Vault with the compute's managed identity (`ml.edge.credential`)
   and checks the remote in seconds with a pinned, short-timeout client (bad SAS, endpoint, pin: one line);
2. applies the upstream pointers it was given (`--pointer-in`: dvc.lock entries, or a .dvc file) and pulls
   exactly those hashes from the ASH remote; copies cloud inputs (`--data-in PATH=DIR`, e.g. the model);
3. runs its stage (`dvc repro --single-item`, with the run cache pulled from ASH, so an unchanged stage is
   restored instead of re-run), then pushes the stage's outputs and run cache to ASH;
4. writes only the stage's lock entry (hashes, no rows) to `--pointer-out`, and copies the outputs that may
   leave the premises (`--cloud-out PATH=DEST`: model, metrics, plots, the ONNX model and its parity
   report) to Azure ML's outputs.

A TARGET ending in `.dvc` (the raw data, tracked by `data.dvc`) runs nothing: the node checks the data is on
the remote and hands its pointer on. DVC runs with `core.no_scm` (the snapshot has no `.git`) and the
credential as in-memory config only; the storage pin is applied in this process (no `.pth` needed).

Hyperparameters stay in params.yaml (the one source): `--param section.key=value` only checks that the value
Azure ML passed equals params.yaml's, so a value changed in the studio cannot silently train something else.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ml.atomic import atomic_output_dir, atomic_write_bytes, atomic_write_text
from ml.errors import EdgeTrainError

POINTER_FILE = "pointer.json"
POINTER_FORMAT = "edge-train-pointer/1"
LOCK_FILE = "dvc.lock"
ENV_REMOTE = "EDGE_TRAIN_DVC_REMOTE"


# ---- pointers ------------------------------------------------------------------------------------------


def read_lock_entry(root: Path, target: str) -> dict[str, Any]:
    """The stage's entry in dvc.lock, or the .dvc file's content: what the next node needs, hashes only."""
    import yaml

    if target.endswith(".dvc"):
        entry = yaml.safe_load((root / target).read_text(encoding="utf-8")) or {}
    else:
        lock = yaml.safe_load((root / LOCK_FILE).read_text(encoding="utf-8")) or {}
        entry = (lock.get("stages") or {}).get(target)
    if not entry or not entry.get("outs"):
        raise EdgeTrainError(
            f"{target}: no lock entry with outputs after running it", hint="check the stage in dvc.yaml"
        )
    return entry


def write_pointer(root: Path, target: str, folder: Path) -> None:
    pointer = {"format": POINTER_FORMAT, "target": target, "lock": read_lock_entry(root, target)}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / POINTER_FILE, json.dumps(pointer, indent=1, sort_keys=True) + "\n")


def read_pointer(folder: Path) -> dict[str, Any]:
    path = folder / POINTER_FILE if folder.is_dir() else folder
    try:
        pointer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EdgeTrainError(
            f"{path}: not a readable pointer ({exc.__class__.__name__})",
            hint="wire this input to an upstream node's pointer output in the pipeline YAML",
        ) from None
    if pointer.get("format") != POINTER_FORMAT or not pointer.get("target") or not pointer.get("lock"):
        raise EdgeTrainError(
            f"{path}: not an {POINTER_FORMAT} pointer",
            hint="wire this input to an upstream node's pointer output in the pipeline YAML",
        )
    return pointer


def apply_pointer(root: Path, pointer: dict[str, Any]) -> str:
    """Make the snapshot's dvc.lock (or .dvc file) say what the upstream node produced; return the target."""
    import yaml

    target, entry = pointer["target"], pointer["lock"]
    if target.endswith(".dvc"):
        atomic_write_text(root / target, yaml.safe_dump(entry, sort_keys=False))
        return target
    path = root / LOCK_FILE
    lock = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None) or {}
    lock.setdefault("schema", "2.0")
    lock.setdefault("stages", {})[target] = entry
    atomic_write_text(path, yaml.safe_dump(lock, sort_keys=False))
    return target


def forget_lock_entry(root: Path, stage: str) -> None:
    """Drop the stage's committed dvc.lock entry, so DVC decides by the run cache on ASH alone.

    With the entry present and the stage unchanged, DVC only tries to restore the outputs that entry names,
    which were made on a workstation (MLflow records the environment in the model, so its bytes differ) and
    are usually not on ASH: it would re-run a stage the edge already ran with the same code, data and params.
    """
    import yaml

    path = root / LOCK_FILE
    lock = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None) or {}
    if (lock.get("stages") or {}).pop(stage, None) is not None:
        atomic_write_text(path, yaml.safe_dump(lock, sort_keys=False))


def cache_every_output(root: Path, stage: str) -> None:
    """In the pod's copy of dvc.yaml, let DVC cache the stage's `cache: false` outputs (metrics, plots).

    DVC saves no run cache for a stage with an uncached output, so an unchanged evaluate would run again on
    every edge run. Locally those files stay in git for review; in the pod, a throwaway snapshot, they go
    to ASH with the stage's other outputs and come back from the run cache.
    """
    import yaml

    path = root / "dvc.yaml"
    pipeline = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    definition = (pipeline.get("stages") or {}).get(stage) or {}
    changed = False
    for kind in ("outs", "metrics", "plots"):
        for entry in definition.get(kind) or []:
            if isinstance(entry, dict):
                for options in entry.values():
                    if isinstance(options, dict) and options.get("cache") is False:
                        del options["cache"]
                        changed = True
    if changed:
        atomic_write_text(path, yaml.safe_dump(pipeline, sort_keys=False))


# ---- checks before any transfer -----------------------------------------------------------------------


def check_params(root: Path, given: list[str]) -> None:
    """Each `section.key=value` Azure ML passed must equal params.yaml's value (params.yaml decides)."""
    import yaml

    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) or {}
    for item in given:
        key, _, raw = item.partition("=")
        section, _, name = key.partition(".")
        expected = (params.get(section) or {}).get(name)
        value = yaml.safe_load(raw)
        if expected is None or value != expected:
            raise EdgeTrainError(
                f"input {key}={raw} differs from params.yaml ({key}: {expected})",
                hint="hyperparameters come from params.yaml: change it there, commit, and submit again",
            )


def check_remote(conn_str: str, url: str, pin: Any) -> None:
    """List one blob with a pinned client that gives up in seconds (DVC's own retries a bad host ~90 s)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    from ml.storage.client import service_client
    from ml.storage.diagnose import check_sas, explain_response, explain_unreachable
    from ml.storage.remote import parse_connection_string

    fields = parse_connection_string(conn_str)
    sas = fields.get("SharedAccessSignature")
    if sas:
        check_sas(sas)
    container = url[len("azure://") :].split("/")[0]
    try:
        client = service_client(conn_str, pin).get_container_client(container)
    except ValueError as exc:
        raise EdgeTrainError(
            f"the storage secret is not a connection string ({exc.__class__.__name__})",
            hint="store BlobEndpoint=https://<account>.blob.<fqdn>;SharedAccessSignature=<sas> in it",
        ) from None
    try:
        next(iter(client.list_blobs(results_per_page=1).by_page()), None)
    except HttpResponseError as exc:
        raise explain_response(
            exc, container=container, uses_sas=bool(sas), api_version=pin.api_version
        ) from None
    except ServiceRequestError as exc:
        raise explain_unreachable(urlsplit(client.url).hostname or client.url, exc) from None


# ---- the node ------------------------------------------------------------------------------------------


def storage_config(root: Path, remote: str | None) -> tuple[dict[str, Any], str | None, str]:
    """(in-memory DVC config, connection string or None, remote URL) for this node."""
    from dvc.config import Config

    from ml.dvc import READ_ONLY_CACHE_TYPE
    from ml.edge.credential import read_secret, vault_settings

    config = Config(dvc_dir=str(root / ".dvc"))
    name = remote or config["core"].get("remote")
    url = str((config["remote"].get(name) or {}).get("url", "")) if name else ""
    if not url:
        raise EdgeTrainError(
            f".dvc/config: no DVC remote named {name!r} in the snapshot",
            hint="run `edge-train data remote set` and commit .dvc/config (the credential stays out of it)",
        )
    # The pod only reads what it pulls and writes new files: link from the cache instead of copying.
    overrides: dict[str, Any] = {
        "core": {"no_scm": True, "remote": name},
        "cache": {"type": READ_ONLY_CACHE_TYPE},
    }
    vault = vault_settings()
    conn_str = read_secret(*vault) if vault else None
    if url.startswith("azure://"):
        if not conn_str:
            raise EdgeTrainError(
                f"DVC remote {name!r} is on Azure Stack Hub, but the job names no Key Vault secret for it",
                hint="set [azure] key_vault_url and storage_secret in edge-train.toml (`edge-train init`)",
            )
        overrides["remote"] = {name: {"connection_string": conn_str}}
    return overrides, conn_str, url


def pin_storage(root: Path) -> Any:
    """Pin every blob client adlfs makes in this process (API version, CA) and return the pin."""
    import adlfs.spec

    from ml.storage.pin import patch_adlfs, resolve_pin

    pin = resolve_pin(root)
    patch_adlfs(adlfs.spec, pin)
    return pin


def copy_in(source: Path, destination: Path) -> None:
    if source.is_file():
        atomic_write_bytes(destination, source.read_bytes())
        return
    with atomic_output_dir(destination) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)


def copy_out(source: Path, destination: Path) -> None:
    """A stage output to an Azure ML output: a file to a file path (or into a folder), a folder's contents."""
    if not source.exists():
        raise EdgeTrainError(f"{source}: the stage did not write it", hint="check the step's command")
    if source.is_file():
        atomic_write_bytes(
            destination / source.name if destination.is_dir() else destination, source.read_bytes()
        )
        return
    with atomic_output_dir(destination) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)


def pairs(items: list[str], flag: str) -> list[tuple[str, Path]]:
    found = []
    for item in items:
        path, sep, where = item.partition("=")
        if not sep or not path or not where:
            raise EdgeTrainError(
                f"{flag} {item!r}: expected PATH=FOLDER", hint="see `python -m ml.edge.node -h`"
            )
        found.append((path, Path(where)))
    return found


def run_node(root: Path, args: argparse.Namespace) -> str:
    """Run the node; return a one-line summary. Every failure is an `EdgeTrainError`."""
    import os

    from ml.dvc import prepare_environment

    prepare_environment()
    # The steps' code is the snapshot's (nothing is installed): the stages DVC starts import it from here.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    check_params(root, args.param)
    pin = pin_storage(root)
    overrides, conn_str, url = storage_config(root, args.remote)
    if conn_str:
        check_remote(conn_str, url, pin)
    upstream = [apply_pointer(root, read_pointer(folder)) for folder in args.pointer_in]
    if not args.target.endswith(".dvc"):
        forget_lock_entry(root, args.target)
        cache_every_output(root, args.target)
    for path, folder in pairs(args.data_in, "--data-in"):
        copy_in(folder, root / path)

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root), config=overrides) as repo:
            if upstream:
                repo.pull(targets=upstream)
            if args.target.endswith(".dvc"):
                # `dvc status -c`: "deleted" = only on the remote (what we want); "new"/"missing" = not there.
                status = repo.status(targets=[args.target], cloud=True)
                missing = [path for path, state in status.items() if state in ("new", "missing")]
                if missing:
                    raise EdgeTrainError(
                        f"{args.target}: {len(missing)} file(s) are not on the remote",
                        hint="push the data from a machine that has it: `dvc push` (docs/data.md)",
                    )
                summary = f"{args.target}: data is on the remote"
            else:
                # DVC says above whether it ran the stage or restored it from the run cache.
                repo.reproduce(targets=[args.target], single_item=True, pull=True)
                repo.push(targets=[args.target], run_cache=True)
                summary = f"{args.target}: done; outputs and run cache pushed"
    except DvcException as exc:
        raise EdgeTrainError(
            f"DVC in the node failed: {' '.join(str(exc).split())[:300]}",
            hint="run `edge-train doctor` from a workstation: it checks the remote and the credential",
        ) from None
    if args.pointer_out:
        write_pointer(root, args.target, args.pointer_out)
    for path, destination in pairs(args.cloud_out, "--cloud-out"):
        copy_out(root / path, destination)
    return summary


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m ml.edge.node", description=__doc__.splitlines()[0])
    cli.add_argument("target", help="the DVC stage (a dvc.yaml stage name) or .dvc file this node runs")
    cli.add_argument("--pointer-in", type=Path, action="append", default=[], help="upstream pointer folder")
    cli.add_argument("--pointer-out", type=Path, help="folder to write this node's pointer to")
    cli.add_argument("--data-in", action="append", default=[], help="PATH=FOLDER: a cloud input to place")
    cli.add_argument("--cloud-out", action="append", default=[], help="PATH=DEST: an output that may leave")
    cli.add_argument("--param", action="append", default=[], help="section.key=value, checked against params")
    cli.add_argument(
        "--remote", default=None, help=f"DVC remote (default: ${ENV_REMOTE}, else .dvc/config's)"
    )
    return cli


def main(argv: list[str] | None = None) -> int:
    import os

    args = parser().parse_args(argv)
    args.remote = args.remote or os.environ.get(ENV_REMOTE) or None
    try:
        print(run_node(Path.cwd().resolve(), args))
    except EdgeTrainError as exc:
        # One line: Azure ML shows the last lines of a failed node, and a hint on a second line gets lost.
        print(
            f"error: {exc.message} (fix: {exc.hint})" if exc.hint else f"error: {exc.message}",
            file=sys.stderr,
        )
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
