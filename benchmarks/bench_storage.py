"""DVC push/pull through the ASH gate against plain azure-storage-blob, and the cost of an incremental push.

Both sides talk to the same Azurite through the same gate, with the same pinned API version, in the same run:
the ratio is DVC's overhead (hashing, existence checks, per-file requests), not the server's speed. The
baseline is what a hand-written uploader would do: concurrent block uploads for the big file, a thread pool
of single-shot uploads for the small ones. Sizes: EDGE_TRAIN_BENCH_SMALL_FILES (default 5000) files of 16 KiB,
and EDGE_TRAIN_BENCH_BIG_MB (default 200).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.harness.servers import ACCOUNT_KEY, Stack, running_stack

SMALL_FILES = int(os.environ.get("EDGE_TRAIN_BENCH_SMALL_FILES", "5000"))
SMALL_SIZE = 16 * 1024
BIG_MB = int(os.environ.get("EDGE_TRAIN_BENCH_BIG_MB", "200"))
CONCURRENCY = 16
API_VERSION = "2019-07-07"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def dvc(root: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGE_TRAIN_", "AZURE_STORAGE_"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["DVC_NO_ANALYTICS"] = "1"
    subprocess.run(["dvc", *args], cwd=root, env=env, check=True, capture_output=True, timeout=1800)


def dvc_repo(root: Path, stack: Stack, container: str) -> None:
    """A git + DVC repository whose default remote is `container`, configured by `data remote set`."""
    from dvc.repo import Repo

    from ml.cli import app, run_app

    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    Repo.init(str(root)).close()
    (root / "params.yaml").write_text("{}\n")
    (root / "edge-train.toml").write_text(
        f'[storage]\ncontainer = "{container}"\nblob_endpoint = "{stack.blob_endpoint}"\n'
    )
    os.environ.update(EDGE_TRAIN_ROOT=str(root), AZURE_STORAGE_KEY=ACCOUNT_KEY)
    try:
        assert run_app(app, ["data", "remote", "set", "--credential", "key"]) == 0
    finally:
        del os.environ["EDGE_TRAIN_ROOT"], os.environ["AZURE_STORAGE_KEY"]


def dvc_add(root: Path) -> None:
    import contextlib

    from dvc.repo import Repo

    with contextlib.chdir(root), Repo(str(root)) as repo:
        repo.add("data")


def dvc_round_trip(root: Path) -> tuple[float, float]:
    """Seconds for `dvc push`, then for `dvc pull` into an empty cache and workspace."""
    push = timed(lambda: dvc(root, "push"))
    shutil.rmtree(root / ".dvc" / "cache")
    shutil.rmtree(root / "data")
    return push, timed(lambda: dvc(root, "pull"))


def baseline_round_trip(
    stack: Stack, container_name: str, files: list[Path], base: Path
) -> tuple[float, float]:
    """Seconds to upload then download the same files with azure-storage-blob, concurrently."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(stack.connection_string(), api_version=API_VERSION)
    container = service.create_container(container_name)
    names = [str(path.relative_to(base)) for path in files]
    single = len(files) == 1

    def upload(path: Path, name: str) -> None:
        with path.open("rb") as handle:
            container.upload_blob(name, handle, overwrite=True, max_concurrency=CONCURRENCY if single else 1)

    def download(name: str) -> None:
        container.download_blob(name, max_concurrency=CONCURRENCY if single else 1).readall()

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        up = timed(lambda: list(pool.map(upload, files, names)))
        down = timed(lambda: list(pool.map(download, names)))
    return up, down


def gate_bytes_in(stack: Stack, since: int) -> int:
    return sum(int(r["bytes_in"]) for r in stack.gate.requests()[since:] if r["method"] == "PUT")


def run() -> str:
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp,
        running_stack(Path(tmp) / "stack") as stack,
    ):
        work = Path(tmp)
        big = work / "big"
        dvc_repo(big, stack, "dvc-big")
        (big / "data").mkdir()
        with (big / "data" / "big.bin").open("wb") as handle:
            for _ in range(BIG_MB):
                handle.write(os.urandom(2**20))
        base_up, base_down = baseline_round_trip(stack, "plain-big", [big / "data" / "big.bin"], big / "data")
        dvc_add(big)
        push, pull = dvc_round_trip(big)
        rows.append((f"one {BIG_MB} MB file", BIG_MB * 2**20, push, base_up, pull, base_down))
        shutil.rmtree(big)

        small = work / "small"
        dvc_repo(small, stack, "dvc-small")
        files = []
        for i in range(SMALL_FILES):
            path = small / "data" / f"shard-{i % 50:02d}" / f"item-{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(SMALL_SIZE))
            files.append(path)
        base_up, base_down = baseline_round_trip(stack, "plain-small", files, small / "data")
        dvc_add(small)
        since = len(stack.gate.requests())
        push, pull = dvc_round_trip(small)
        full_bytes = gate_bytes_in(stack, since)
        rows.append(
            (f"{SMALL_FILES:,} files of 16 KiB", SMALL_FILES * SMALL_SIZE, push, base_up, pull, base_down)
        )

        changed = files[::100]  # 1% of the files
        for path in changed:
            path.write_bytes(os.urandom(SMALL_SIZE))
        dvc_add(small)
        since = len(stack.gate.requests())
        incremental = timed(lambda: dvc(small, "push"))
        incremental_bytes = gate_bytes_in(stack, since)

    lines = [
        "## Storage: DVC on ASH (Azurite behind the ASH gate)",
        "",
        "DVC (plain `dvc push` / `dvc pull`, API version pinned by the `.pth` hook) against a baseline of "
        f"the same bytes moved with azure-storage-blob ({CONCURRENCY} concurrent transfers), same gate, "
        "same run. "
        "Goal: ratio ≤ 1.5.",
        "",
        "| data | DVC push | baseline upload | push ratio | DVC pull | baseline download | pull ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, size, push, up, pull, down in rows:
        mb = size / 2**20
        lines.append(
            f"| {name} ({mb:.0f} MiB) | {push:.1f} s ({mb / push:.1f} MiB/s) | {up:.1f} s | "
            f"**{push / up:.2f}x** | {pull:.1f} s | {down:.1f} s | **{pull / down:.2f}x** |"
        )
    lines += [
        "",
        f"Incremental push after changing {len(changed)} of {SMALL_FILES:,} files (1%): "
        f"{incremental_bytes / 2**20:.2f} MiB uploaded of {full_bytes / 2**20:.1f} MiB for the full push "
        f"= **{100 * incremental_bytes / full_bytes:.2f}%** of the bytes (goal < 2%; includes the "
        f"directory manifest DVC re-uploads), in {incremental:.1f} s.",
    ]
    return "\n".join(lines)
