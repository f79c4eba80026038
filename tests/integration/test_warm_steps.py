"""A step run through the warm step server (`edge-train run`) is the step run by `python -m`: the same
output, exit code, signals and files. Compared here with the plain interpreter, not with our own records.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ml.warm import SWITCH_ENV, warm_steps
from tests.conftest import REPO_ROOT
from tests.integration.clone import edge_train, fresh_clone

STEP = ["-m", "ml.steps.prepare"]
STAGES = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """`python ...` as a DVC stage command finds it: through PATH."""
    return subprocess.run(
        ["python", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, **kwargs
    )


def plain(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture
def warm() -> object:
    with warm_steps(REPO_ROOT):
        yield


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([*STEP, "--help"], id="help"),
        pytest.param([*STEP, "--raw-data", "no-such-folder", "--prepared", "x"], id="a-step-error"),
        pytest.param([*STEP, "--no-such-option"], id="a-usage-error"),
        pytest.param(["-m", "ml.steps.no_such_step"], id="no-such-module"),
    ],
)
def test_a_step_prints_and_exits_as_the_plain_interpreter_runs_it(warm, args):
    through_server, by_hand = python(*args), plain(*args)
    assert "Traceback" not in by_hand.stderr or args[1].endswith("no_such_step")
    assert through_server.returncode == by_hand.returncode
    assert through_server.stdout == by_hand.stdout
    assert through_server.stderr.splitlines()[-1:] == by_hand.stderr.splitlines()[-1:]


def test_the_server_serves_one_step_after_another_with_what_each_needs(warm, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for attempt in range(3):
        failed = python(*STEP, "--raw-data", str(raw), "--prepared", str(tmp_path / "out"))
        assert failed.returncode == 1 and f"{raw}: no .csv or .parquet files" in failed.stderr, attempt


def test_only_pipeline_steps_go_to_the_server(warm):
    other = python("-c", "import os, sys; print(sys.argv[1:], os.environ.get('EDGE_TRAIN_STEP_SERVER'))", "a")
    assert other.returncode == 0
    assert other.stdout.startswith("['a'] ")  # the real interpreter, which also sees the server's address


def test_without_a_server_a_step_runs_as_before(tmp_path):
    with warm_steps(REPO_ROOT):
        os.environ["EDGE_TRAIN_STEP_SERVER"] = str(tmp_path / "gone.sock")
        result = python(*STEP, "--help")
    assert result.returncode == 0 and "--raw-data" in result.stdout


def test_the_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv(SWITCH_ENV, "0")
    path = os.environ["PATH"]
    with warm_steps(REPO_ROOT):
        assert os.environ["PATH"] == path and "EDGE_TRAIN_STEP_SERVER" not in os.environ


@pytest.fixture(scope="module")
def raw_rows(tmp_path_factory) -> Path:
    """Enough rows of the schema that prepare works for a second or more after it starts writing."""
    from ml.data.synthetic import write_synthetic_csv

    raw = tmp_path_factory.mktemp("raw")
    sample = tmp_path_factory.mktemp("sample") / "rows.csv"
    write_synthetic_csv(sample, 20_000, seed=0)
    header, *rows = sample.read_text().splitlines(keepends=True)
    (raw / "data.csv").write_text(header + "".join(rows) * 25)
    return raw


def interrupted(command: list[str], raw: Path, out: Path, sent: signal.Signals) -> int:
    """Start prepare, send `sent` once it has checked the rows and begun writing (its output folder has
    its temp folder), and return how it ended."""
    process = subprocess.Popen(
        [*command, *STEP, "--raw-data", str(raw), "--prepared", str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(out.iterdir())):
        assert process.poll() is None, "the step ended before it was interrupted"
        assert time.monotonic() < deadline, "the step never began writing"
        time.sleep(0.01)
    process.send_signal(sent)
    return process.wait(60)


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_step_ends_it_as_it_ends_a_plain_step(raw_rows, tmp_path, sent):
    by_hand = interrupted([sys.executable], raw_rows, tmp_path / "plain", sent)
    with warm_steps(REPO_ROOT):
        through_server = interrupted(["python"], raw_rows, tmp_path / "warm", sent)
    assert through_server == by_hand != 0


def server_children() -> list[str]:
    folder = Path(os.environ["EDGE_TRAIN_STEP_SERVER"]).parent
    server = subprocess.run(["pgrep", "-f", f"ml.warm.server {folder}"], capture_output=True, text=True)
    pids = server.stdout.split()
    assert len(pids) == 1
    children = subprocess.run(["pgrep", "-P", pids[0]], capture_output=True, text=True)
    return children.stdout.split()


def test_a_killed_step_process_takes_the_step_with_it_and_the_server_serves_on(warm, raw_rows, tmp_path):
    assert interrupted(["python"], raw_rows, tmp_path / "out", signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while server_children():
        assert time.monotonic() < deadline, "the step outlived its process"
        time.sleep(0.05)
    assert python(*STEP, "--help").returncode == 0


def test_the_server_ends_with_the_run(tmp_path):
    with warm_steps(REPO_ROOT):
        folder = Path(os.environ["EDGE_TRAIN_STEP_SERVER"]).parent
        assert python(*STEP, "--help").returncode == 0
    assert not folder.exists()
    leftovers = subprocess.run(["pgrep", "-f", f"ml.warm.server {folder}"], capture_output=True, text=True)
    assert leftovers.stdout == ""


@pytest.mark.integration
def test_a_run_with_warm_steps_writes_the_bytes_a_run_without_writes(tmp_path):
    """The outputs DVC records (the model, the prepared data, the portable model, the metrics) are the
    same bytes with and without the server: DVC's cache, the run cache and the edge job agree with either."""
    root = fresh_clone(tmp_path / "repo")
    records = {}
    for switch in ("0", "1"):
        (root / "dvc.lock").unlink()
        shutil.rmtree(root / ".dvc" / "cache" / "runs", ignore_errors=True)  # every stage runs
        ran = edge_train(root, "run", "--no-release", env={SWITCH_ENV: switch})
        assert ran.returncode == 0, ran.stderr
        assert f"ran {len(STAGES)} stage(s)" in ran.stdout
        records[switch] = (root / "dvc.lock").read_bytes()
    assert records["0"] == records["1"] == (REPO_ROOT / "dvc.lock").read_bytes()
