"""Every `run:` step of pr.yml, train.yml and promote.yml runs here as GitHub would run it.

Each job is replayed step by step in a fresh clone, as an unprivileged user with `CI=true`, the event's
payload and the repository's variables (none for a fork), `if:` evaluated as the runner does
(tests/harness/workflow_replay). A renamed make target, a missing tool, a flag the CLI lacks, a step that
needs root or data that stays on the edge fails a replay. The edge job is a seam until the job emulator
lands: it returns what the pipeline returns (model, metrics, plots), nothing else.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

from ml.lineage import data_hash
from tests.conftest import REPO_ROOT
from tests.harness.workflow_replay import events
from tests.harness.workflow_replay.sandbox import Sandbox
from tests.integration.report.fake_github import TOKEN, serve_fake_github
from tests.integration.workflows.replay import (
    COLLECT_ONLY,
    EDGE_VARS,
    commit_with,
    edge_outputs,
    edge_seams,
    replay,
    worktree_commit,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def sandbox(replay_sandbox: Sandbox) -> Sandbox:
    return replay_sandbox


@pytest.fixture(scope="module")
def commit(sandbox: Sandbox) -> str:
    """This working tree, published as `main` and as pull request 1 on the sandbox's origin."""
    from tests.conftest import REPO_ROOT

    sha = worktree_commit()
    sandbox.publish(REPO_ROOT, {"refs/heads/main": sha, "refs/pull/1/head": sha, "refs/pull/1/merge": sha})
    return sha


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return edge_outputs(tmp_path_factory.mktemp("edge") / "edge-train")


def test_pull_request_checks_run_every_step(sandbox: Sandbox, commit: str) -> None:
    event = events.pull_request(1, commit, commit, commit)
    result = replay(sandbox, "pr.yml", "checks", event, runner_env=COLLECT_ONLY).run()
    assert result.ok, result.failures()
    assert all(step.ran for step in result.steps)


def test_a_fork_pull_request_trains_on_the_example_data_and_never_signs_in(
    sandbox: Sandbox, commit: str
) -> None:
    event = events.pull_request(1, commit, commit, commit, fork=True)
    result = replay(sandbox, "pr.yml", "report", event, vars={}, oidc=False).run()
    assert result.ok, result.failures()
    assert not result.step("Sign in to Azure with OIDC").ran
    assert not result.step("Train on the edge compute through Azure ML (only metrics come back)").ran
    assert result.step("Train on the example data on this runner").outcome == "success"
    assert "Base metrics:" in result.summary, "the report went to the job summary"
    # The promise of docs/opinions.md (21): another Python 3.11 build retrains the committed model byte for
    # byte. The runner's interpreter is Debian's, this suite's is uv's; dvc.lock was written by the latter.
    version = "import platform; print(platform.python_version())"
    runner_python = subprocess.run(
        [str(sandbox.workspace / ".venv" / "bin" / "python"), "-c", version],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert runner_python != platform.python_version(), "the replay must use another interpreter build"
    changed = subprocess.run(
        ["git", "-c", "safe.directory=*", "status", "--porcelain", "--", "dvc.lock", "reports"],
        cwd=sandbox.workspace, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert changed == "", (
        f"Python {runner_python} did not reproduce the committed model and metrics:\n{changed}"
    )


def test_a_same_repository_pull_request_trains_on_the_edge_and_comments(
    sandbox: Sandbox, commit: str, edge: Path
) -> None:
    event = events.pull_request(1, commit, commit, commit)
    with serve_fake_github(TOKEN) as github:
        result = replay(
            sandbox,
            "pr.yml",
            "report",
            event,
            vars=EDGE_VARS,
            oidc=True,
            runner_env={"GITHUB_API_URL": github.url},
            seams=edge_seams(edge),
            token=TOKEN,
        ).run()
    assert result.ok, result.failures()
    assert result.step("Sign in to Azure with OIDC").outcome == "success"
    assert not result.step("Train on the example data on this runner").ran
    assert len(github.comments.get(1, [])) == 1, github.requests


def test_replays_run_as_an_unprivileged_user(sandbox: Sandbox) -> None:
    assert sandbox.uid != 0
    if os.geteuid() != 0:
        assert sandbox.uid == os.getuid()


def test_a_fork_whose_data_is_on_a_remote_the_runner_cannot_reach_trains_on_synthetic_rows(
    sandbox: Sandbox, commit: str
) -> None:
    own_data = commit_with(
        commit,
        {
            "data.dvc": (REPO_ROOT / "data.dvc")
            .read_text()
            .replace(data_hash(REPO_ROOT), "0123456789abcdef0123456789abcdef"),
            ".dvc/config": (REPO_ROOT / ".dvc" / "config")
            .read_text()
            .replace("remote = local", "remote = ash")
            + "['remote \"ash\"']\n    url = http://127.0.0.1:9/edge-train\n",  # refused, as ASH is to a fork
        },
        "a fork's own data, on its own remote",
    )
    sandbox.publish(REPO_ROOT, {"refs/pull/3/head": own_data, "refs/pull/3/merge": own_data})
    event = events.pull_request(3, own_data, commit, own_data, fork=True)
    result = replay(sandbox, "pr.yml", "report", event, vars={}, oidc=False).run()
    assert result.ok, result.failures()
    trained = result.step("Train on the example data on this runner")
    notice = [line for line in trained.stdout.splitlines() if "synthetic rows" in line]
    assert len(notice) == 1 and "'ash' remote" in notice[0], trained.stdout
    assert "Trained on synthetic rows of the schema" in result.summary, result.summary
    assert "not judged: synthetic stand-in rows" in result.summary, "the gate does not pretend"
