"""The replay fails on each kind of defect it exists to catch (each reintroduced in a one-job workflow).

Each workflow here is the smallest that shows one defect: the real checkout stub, the real setup-python stub,
then the defective step, run as the replays run every step (unprivileged user, CI=true, fresh clone).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.harness.workflow_replay import events
from tests.harness.workflow_replay.runner import Replay
from tests.harness.workflow_replay.sandbox import Sandbox
from tests.integration.workflows.replay import EDGE_VARS, edge_outputs, edge_seams, worktree_commit

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CHECKOUT = {
    "uses": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
    "with": {"persist-credentials": False},
}
PYTHON = {
    "uses": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97",
    "with": {"python-version": "3.11"},
}


@pytest.fixture(scope="module")
def sandbox(replay_sandbox: Sandbox) -> tuple[Sandbox, str]:
    box = replay_sandbox
    sha = worktree_commit()
    box.publish(REPO_ROOT, {"refs/heads/main": sha})
    return box, sha


def run_steps(tmp_path: Path, sandbox: tuple[Sandbox, str], *steps: dict, **options) -> Replay:
    box, sha = sandbox
    workflow = {
        "on": {"push": {"branches": ["main"]}},
        "permissions": {},
        "jobs": {"job": {"runs-on": "ubuntu-latest", "permissions": {}, "steps": [CHECKOUT, PYTHON, *steps]}},
    }
    path = tmp_path / "defect.yml"
    path.write_text(yaml.safe_dump(workflow))
    return Replay(box, path, "job", events.push(sha, sha), **options)


@pytest.mark.parametrize(
    "step, said",
    [
        ({"name": "renamed make target", "run": "make test-all"}, "No rule to make target"),
        ({"name": "missing tool", "run": "frobnicate --version"}, "not found"),
        ({"name": "needs root", "run": "apt-get install -y --no-download cowsay"}, "root"),
        ({"name": "writes outside the workspace", "run": "touch /etc/edge-train"}, "Permission denied"),
    ],
)
def test_a_defective_step_fails_the_replay(tmp_path: Path, sandbox, step: dict, said: str) -> None:
    result = run_steps(tmp_path, sandbox, step).run()
    failed = result.step(step["name"])
    assert failed.outcome == "failure"
    assert said in failed.stdout + failed.stderr


def test_a_step_that_needs_the_edge_data_fails_after_an_edge_run(tmp_path: Path, sandbox) -> None:
    edge = edge_outputs(tmp_path / "edge")
    result = run_steps(
        tmp_path,
        sandbox,
        {
            "name": "Train on the edge compute through Azure ML and wait",
            "run": "exec edge-train submit --wait",
        },
        {"name": "needs the held-out rows", "run": "test -f artifacts/prepared/test.parquet"},
        seams=edge_seams(edge),
        vars=EDGE_VARS,
    ).run()
    assert result.step("Train on the edge compute through Azure ML and wait").outcome == "success"
    assert result.step("needs the held-out rows").outcome == "failure"
    held_out = edge / "artifacts" / "prepared" / "test.parquet"
    assert held_out.is_file(), "the rows exist, but only on the edge"


def test_a_step_after_a_failure_is_skipped_unless_it_asks_for_always(tmp_path: Path, sandbox) -> None:
    result = run_steps(
        tmp_path,
        sandbox,
        {"name": "fails", "run": "false"},
        {"name": "skipped", "run": "true"},
        {"name": "always", "if": "always()", "run": "true"},
    ).run()
    assert [s.outcome for s in result.steps[2:]] == ["failure", "skipped", "success"]
