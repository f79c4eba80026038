"""DVC push/pull through the ASH gate against plain azure-storage-blob, and the cost of an incremental push.

Both sides talk to Azurite through the gate, with the same pinned API version, in the same run, each to its
own Azurite holding the same history of data (a shared one slows down for whichever side runs second):
the ratio is DVC's overhead (hashing, existence checks, per-file requests, checkout), not the server's speed.
The baseline is what a hand-written script would do, run the way `dvc` is run: a fresh Python process
(`python -m benchmarks.bench_storage upload|download ...`) that uploads the files from disk and downloads them
back to files on disk, with concurrent block transfers for the big file and a thread pool of single-shot
transfers for the small ones. Both sides use the same concurrency (CONCURRENCY transfers; DVC through the
remote's `jobs`). Both start from compiled bytecode: an untimed warm-up round trip runs first, with
PYTHONDONTWRITEBYTECODE removed from the child environment (a user's venv has its .pyc files; without them
every `dvc` process spends about 2 s compiling). Sizes: EDGE_TRAIN_BENCH_SMALL_FILES (default 5000) files of
16 KiB, and EDGE_TRAIN_BENCH_BIG_MB (default 200).
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
from tests.harness.servers import REPO_ROOT as ROOT

SMALL_FILES = int(os.environ.get("EDGE_TRAIN_BENCH_SMALL_FILES", "5000"))
SMALL_SIZE = 16 * 1024
BIG_MB = int(os.environ.get("EDGE_TRAIN_BENCH_BIG_MB", "200"))
CONCURRENCY = 16
API_VERSION = "2019-07-07"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a timed child process: no edge-train or Azure settings leaking in from ours, and
    bytecode caching on (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGE_TRAIN_", "AZURE_STORAGE_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["DVC_NO_ANALYTICS"] = "1"
    return {**env, **extra}


def dvc(root: Path, *args: str) -> None:
    subprocess.run(["dvc", *args], cwd=root, env=child_env(), check=True, capture_output=True, timeout=1800)


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
    # The same number of concurrent transfers as the baseline (DVC's default is 4 x CPU cores).
    dvc(root, "remote", "modify", "ash", "jobs", str(CONCURRENCY))


def dvc_add(root: Path) -> None:
    import contextlib

    from dvc.repo import Repo

    with contextlib.chdir(root), Repo(str(root)) as repo:
        repo.add("data")


def dvc_round_trip(root: Path, stack: Stack) -> tuple[float, float, float, float]:
    """Seconds for `dvc push`, then for `dvc pull` into an empty cache and workspace, each followed by the
    seconds between its first and last request at the gate (the rest is start-up, index and checkout)."""
    since = len(stack.gate.requests())
    push = timed(lambda: dvc(root, "push"))
    push_span = gate_span(stack, since)
    shutil.rmtree(root / ".dvc" / "cache")
    shutil.rmtree(root / "data")
    since = len(stack.gate.requests())
    pull = timed(lambda: dvc(root, "pull"))
    return push, push_span, pull, gate_span(stack, since)


def gate_span(stack: Stack, since: int) -> float:
    logged = stack.gate.requests()[since:]
    if not logged:
        return 0.0
    start = min(float(r["start"]) for r in logged)  # type: ignore[arg-type]
    end = max(float(r["start"]) + float(r["ms"]) / 1000 for r in logged)  # type: ignore[arg-type]
    return end - start


def warm_up(work: Path, base_stack: Stack, stack: Stack) -> None:
    """One untimed round trip of a small file on both sides, so neither pays for compiling bytecode."""
    warm = work / "warm"
    dvc_repo(warm, stack, "dvc-warm")
    (warm / "data").mkdir()
    (warm / "data" / "warm.bin").write_bytes(os.urandom(SMALL_SIZE))
    baseline_round_trip(
        base_stack, "plain-warm", [warm / "data" / "warm.bin"], warm / "data", work / "warm-out"
    )
    dvc_add(warm)
    dvc_round_trip(warm, stack)
    shutil.rmtree(warm)
    shutil.rmtree(work / "warm-out")


def baseline_round_trip(
    stack: Stack, container_name: str, files: list[Path], base: Path, out: Path
) -> tuple[float, float]:
    """Seconds for a fresh process to upload the files with azure-storage-blob, then for another one to
    download them into `out` (files on disk, as DVC writes them)."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(stack.connection_string(), api_version=API_VERSION)
    service.create_container(container_name)
    names = out.parent / f"{out.name}.names"
    names.write_text("".join(f"{path.relative_to(base)}\n" for path in files))
    env = child_env(AZURE_STORAGE_CONNECTION_STRING=stack.connection_string())

    def script(action: str, folder: Path) -> None:
        command = [sys.executable, "-m", "benchmarks.bench_storage", action, container_name, str(folder)]
        subprocess.run([*command, str(names)], cwd=ROOT, env=env, check=True, timeout=1800)

    up = timed(lambda: script("upload", base))
    down = timed(lambda: script("download", out))
    return up, down


def transfer(action: str, container_name: str, folder: Path, names_file: Path) -> None:
    """The baseline itself: what a hand-written script does with azure-storage-blob (upload or download)."""
    from azure.storage.blob import BlobServiceClient

    connection = os.environ["AZURE_STORAGE_CONNECTION_STRING"]
    service = BlobServiceClient.from_connection_string(connection, api_version=API_VERSION)
    container = service.get_container_client(container_name)
    names = names_file.read_text().splitlines()
    per_blob = CONCURRENCY if len(names) == 1 else 1

    def upload(name: str) -> None:
        with (folder / name).open("rb") as handle:
            container.upload_blob(name, handle, overwrite=True, max_concurrency=per_blob)

    def download(name: str) -> None:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            container.download_blob(name, max_concurrency=per_blob).readinto(handle)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(upload if action == "upload" else download, names))


def gate_bytes_in(stack: Stack, since: int) -> int:
    return sum(int(r["bytes_in"]) for r in stack.gate.requests()[since:] if r["method"] == "PUT")


def run() -> str:
    rows = []
    # Each side gets its own Azurite + gate, started together and fed the same sequence of data: Azurite
    # slows down as it holds more blobs (the same 3,000-file round trip took 25, 34, then 44 s on one
    # server), so sharing one would charge whichever side runs second.
    with (
        tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp,
        running_stack(Path(tmp) / "stack-baseline") as base_stack,
        running_stack(Path(tmp) / "stack-dvc") as stack,
    ):
        work = Path(tmp)
        warm_up(work, base_stack, stack)
        big = work / "big"
        dvc_repo(big, stack, "dvc-big")
        (big / "data").mkdir()
        with (big / "data" / "big.bin").open("wb") as handle:
            for _ in range(BIG_MB):
                handle.write(os.urandom(2**20))
        base_up, base_down = baseline_round_trip(
            base_stack, "plain-big", [big / "data" / "big.bin"], big / "data", work / "big-out"
        )
        shutil.rmtree(work / "big-out")
        dvc_add(big)
        push, push_span, pull, pull_span = dvc_round_trip(big, stack)
        rows.append(
            (f"one {BIG_MB} MB file", BIG_MB * 2**20, push, base_up, pull, base_down, push_span, pull_span)
        )
        shutil.rmtree(big)

        small = work / "small"
        dvc_repo(small, stack, "dvc-small")
        files = []
        for i in range(SMALL_FILES):
            path = small / "data" / f"shard-{i % 50:02d}" / f"item-{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(SMALL_SIZE))
            files.append(path)
        base_up, base_down = baseline_round_trip(
            base_stack, "plain-small", files, small / "data", work / "small-out"
        )
        shutil.rmtree(work / "small-out")
        dvc_add(small)
        since = len(stack.gate.requests())
        push, push_span, pull, pull_span = dvc_round_trip(small, stack)
        full_bytes = gate_bytes_in(stack, since)
        size = SMALL_FILES * SMALL_SIZE
        rows.append(
            (f"{SMALL_FILES:,} files of 16 KiB", size, push, base_up, pull, base_down, push_span, pull_span)
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
        "DVC (plain `dvc push` / `dvc pull`, API version pinned by the `.pth` hook, remote `jobs` = "
        f"{CONCURRENCY}) against a baseline of the same bytes moved by a fresh Python process with "
        f"azure-storage-blob ({CONCURRENCY} concurrent transfers, from and to files on disk), same run, "
        "both warmed up (compiled bytecode), each side with its own Azurite + gate fed the same data "
        "(Azurite slows down as it fills). Goal: ratio ≤ 1.5.",
        "",
        "| data | DVC push | baseline upload | push ratio | DVC pull | baseline download | pull ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, size, push, up, pull, down, _, _ in rows:
        mb = size / 2**20
        lines.append(
            f"| {name} ({mb:.0f} MiB) | {push:.1f} s ({mb / push:.1f} MiB/s) | {up:.1f} s | "
            f"**{push / up:.2f}x** | {pull:.1f} s | {down:.1f} s | **{pull / down:.2f}x** |"
        )
    missed = [
        f"{kind} of {name} ({ratio:.2f}x)"
        for name, _, push, up, pull, down, _, _ in rows
        for kind, ratio in (("push", push / up), ("pull", pull / down))
        if ratio > 1.5
    ]
    lines += ["", f"Over the goal: {', '.join(missed)}." if missed else "Every ratio meets the goal."]
    lines += [
        "",
        "Where DVC's time goes (first to last request at the gate = transfers; the rest is start-up, "
        "index, hashing and checkout; what can be tuned: docs/data.md §5):",
        "",
    ]
    for name, _, push, _, pull, _, push_span, pull_span in rows:
        lines.append(
            f"- {name}: push {push_span:.1f} s of requests + {push - push_span:.1f} s other; "
            f"pull {pull_span:.1f} s of requests + {pull - pull_span:.1f} s other."
        )
    lines += [
        "",
        f"Incremental push after changing {len(changed)} of {SMALL_FILES:,} files (1%): "
        f"{incremental_bytes / 2**20:.2f} MiB uploaded of {full_bytes / 2**20:.1f} MiB for the full push "
        f"= **{100 * incremental_bytes / full_bytes:.2f}%** of the bytes (goal < 2%; includes the "
        f"directory manifest DVC re-uploads), in {incremental:.1f} s.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # the baseline's child process: upload|download CONTAINER FOLDER NAMES_FILE
    transfer(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
