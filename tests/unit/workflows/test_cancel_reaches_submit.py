"""A cancelled run must reach `edge-train submit`, or its Azure ML job keeps running on the edge.

On cancel the runner sends SIGINT to the step's entry process (`bash` for a `run:` step), SIGTERM 7,500 ms
later, then kills the process tree 2,500 ms after that
(https://docs.github.com/en/actions/reference/workflow-cancellation-reference). bash does not pass SIGINT on
to a foreground child and waits for it, so the step must `exec` submit: then submit *is* the entry process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
CHILD = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGINT, lambda *_: (open(sys.argv[1], 'w').write('cancelled'), sys.exit(130)))\n"
    "open(sys.argv[2], 'w').write(str(os.getpid()))\n"
    "time.sleep(30)\n"
)


def submit_steps() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if "edge-train submit" in step.get("run", ""):
                    found.append((f"{path.name}: {step.get('name')}", step["run"]))
    return found


def child_sees_sigint(script: str, tmp_path: Path, grace: float = 7.5) -> bool:
    """Run `script` as the runner does, send the step SIGINT, report whether the long-running child got it."""
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    seen, ready = tmp_path / "seen", tmp_path / "ready"
    step = tmp_path / "step.sh"
    step.write_text(script.replace("CHILD", f"{sys.executable} {child} {seen} {ready}") + "\n")
    process = subprocess.Popen([*SHELL, str(step)])
    deadline = time.monotonic() + 10
    while not (ready.exists() and ready.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)  # the runner waits 7.5 s before SIGTERM
    except subprocess.TimeoutExpired:
        os.kill(int(ready.read_text()), signal.SIGKILL)  # the child, by its own pid
        process.wait()
    return seen.exists()


@pytest.mark.parametrize("where, script", submit_steps(), ids=[w for w, _ in submit_steps()])
def test_every_submit_step_execs_submit(where: str, script: str) -> None:
    lines = [line.strip() for line in script.splitlines() if "edge-train submit" in line]
    assert all(line.startswith("exec ") for line in lines), f"{where}: {script!r}"


def test_exec_hands_the_cancel_signal_to_the_command(tmp_path: Path) -> None:
    assert child_sees_sigint("exec CHILD", tmp_path)


def test_without_exec_bash_keeps_the_cancel_signal(tmp_path: Path) -> None:
    # bash never forwards it, however long the wait: 2 s shows it without slowing the suite by 7.5 s.
    assert not child_sees_sigint("CHILD", tmp_path, grace=2)
