"""A step run through the warm step server (`edge-train run`) is the step run by `python -m`: the same
output, exit code, signals and files. Compared here with the plain interpreter, not with our own records.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ml.steps.schema import SCHEMA_ENV
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


@contextlib.contextmanager
def blocked_step(
    command: list[str], tmp_path: Path, disposition: object = signal.SIG_DFL
) -> Iterator[subprocess.Popen]:
    """prepare, started and then blocked reading its schema from a FIFO that a writer holds open and never
    writes to: a step at a known point of its work, whatever the machine's load."""
    fifo = tmp_path / "schema.yaml"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [*command, *STEP, "--raw-data", str(tmp_path), "--prepared", str(tmp_path / "out")],
        cwd=REPO_ROOT,
        env={**os.environ, SCHEMA_ENV: str(fifo)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        process_group=0,  # its own group, as a terminal gives a command
        preexec_fn=lambda: signal.signal(signal.SIGINT, disposition),
    )
    deadline = time.monotonic() + 120
    while True:
        try:  # succeeds once the step has the FIFO open for reading
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert process.poll() is None, "the step ended before it read its schema"
            assert time.monotonic() < deadline, "the step never read its schema"
            time.sleep(0.01)
    try:
        yield process
    finally:
        os.close(writer)
        if process.poll() is None:
            process.kill()
            process.wait()


def interrupted(
    command: list[str], tmp_path: Path, sent: signal.Signals, disposition: object = signal.SIG_DFL
) -> int | None:
    """How a step blocked in its work ends when its process group gets `sent` (Ctrl-C in a terminal, or
    a closed one), the way signals reach a step; None if it is still running a second later. SIGINT starts
    as `disposition`, as the step's parent left it (a script's background job ignores it)."""
    tmp_path.mkdir()
    with blocked_step(command, tmp_path, disposition) as process:
        forks = server_children()
        assert bool(forks) == (command == ["python"]), "the step runs where the test means"
        assert all(os.getpgid(int(fork)) == process.pid for fork in forks), "the step is in the group"
        os.killpg(process.pid, sent)
        try:
            return process.wait(1 if disposition == signal.SIG_IGN else 60)
        except subprocess.TimeoutExpired:
            return None


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_step_ends_it_as_it_ends_a_plain_step(tmp_path, sent):
    by_hand = interrupted([sys.executable], tmp_path / "plain", sent)
    with warm_steps(REPO_ROOT):
        through_server = interrupted(["python"], tmp_path / "warm", sent)
    assert through_server == by_hand != 0


def test_a_step_started_with_sigint_ignored_ignores_it_as_a_plain_step_does(tmp_path):
    by_hand = interrupted([sys.executable], tmp_path / "plain", signal.SIGINT, signal.SIG_IGN)
    with warm_steps(REPO_ROOT):
        through_server = interrupted(["python"], tmp_path / "warm", signal.SIGINT, signal.SIG_IGN)
    assert through_server is by_hand is None


def servers() -> list[str]:
    """The step servers this test process started."""
    mine = ["pgrep", "-P", str(os.getpid()), "-f", "ml.warm.server"]
    return subprocess.run(mine, capture_output=True, text=True).stdout.split()


def server_children() -> list[str]:
    if not (found := servers()):
        return []
    (server,) = found
    return subprocess.run(["pgrep", "-P", server], capture_output=True, text=True).stdout.split()


def test_a_killed_step_process_takes_the_step_with_it_and_the_server_serves_on(warm, tmp_path):
    with blocked_step(["python"], tmp_path) as process:
        assert server_children(), "the step runs in a fork of the server"
        process.kill()
        assert process.wait(30) == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while server_children():
            assert time.monotonic() < deadline, "the step outlived its process"
            time.sleep(0.05)
    assert python(*STEP, "--help").returncode == 0


def test_the_server_ends_with_the_run_and_leaves_nothing():
    with warm_steps(REPO_ROOT):
        folder = Path(os.environ["EDGE_TRAIN_STEP_SERVER"]).parent
        assert python(*STEP, "--help").returncode == 0
        assert len(servers()) == 1
    assert not folder.exists()
    assert servers() == []


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
