"""Fixtures shared by the workflow replays: the sandbox, this checkout as a commit, the edge's outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from tests.conftest import REPO_ROOT
from tests.harness.workflow_replay import events
from tests.harness.workflow_replay.runner import Replay, StepContext
from tests.harness.workflow_replay.sandbox import Sandbox
from tests.harness.workflow_replay.stubs import edge_job_stub
from tests.integration.clone import edge_train, fresh_clone

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
# The repository variables `edge-train init` tells a maintainer to set (a fork's pull request gets none).
EDGE_VARS = {
    "AZURE_CLIENT_ID": "33333333-3333-4333-8333-333333333333",
    "AZURE_TENANT_ID": "22222222-2222-4222-8222-222222222222",
    "AZURE_SUBSCRIPTION_ID": "0a1b2c3d-0000-4000-8000-000000000001",
}
# The outputs the edge job returns (ml.azure.job.RETURNED): local path → path where the pipeline wrote it.
RETURNED = {
    "artifacts/model": "artifacts/model",
    "reports/metrics.json": "reports/metrics.json",
    "reports/plots": "reports/plots",
    "artifacts/portable": "artifacts/portable",
}
# The harness's one speed knob: the test steps run their real make targets and tool installs, but pytest
# only collects (the suites themselves run in this very test run); everything else runs in full.
COLLECT_ONLY = {"PYTEST_ADDOPTS": "--collect-only -q"}


def worktree_commit(root: Path = REPO_ROOT) -> str:
    """A commit of the working tree as it is (uncommitted edits included), without touching the checkout."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}

        def git(*args: str) -> str:
            run = subprocess.run(
                ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
            )
            return run.stdout.strip()

        git("read-tree", "HEAD")
        git("add", "-A")
        tree = git("write-tree")
        if tree == git("rev-parse", "HEAD^{tree}"):
            return git("rev-parse", "HEAD")
        return git(
            "-c",
            "user.name=replay",
            "-c",
            "user.email=replay@edge-train.invalid",
            "commit-tree",
            tree,
            "-p",
            "HEAD",
            "-m",
            "the working tree under test",
        )


def commit_with(parent: str, files: dict[str, str], message: str, root: Path = REPO_ROOT) -> str:
    """A commit on top of `parent` that adds `files` (path → text), made without touching the checkout."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}

        def git(*args: str, stdin: str | None = None) -> str:
            run = subprocess.run(
                ["git", *args], cwd=root, env=env, input=stdin, capture_output=True, text=True, check=True
            )
            return run.stdout.strip()

        git("read-tree", parent)
        for path, text in files.items():
            blob = git("hash-object", "-w", "--stdin", stdin=text)
            git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
        tree = git("write-tree")
        identity = ["-c", "user.name=maintainer", "-c", "user.email=maintainer@edge-train.invalid"]
        return git(*identity, "commit-tree", tree, "-p", parent, "-m", message)


# What `edge-train init` writes for a fork whose edge is set up (the fake workspace's names).
EDGE_SETTINGS = """target = "azure"

[azure]
subscription_id = "0a1b2c3d-0000-4000-8000-000000000001"
tenant_id = "22222222-2222-4222-8222-222222222222"
client_id = "33333333-3333-4333-8333-333333333333"
resource_group = "edge-rg"
workspace = "edge-ws"
compute = "edge-k8s"
"""


def edge_outputs(dest: Path) -> Path:
    """Run the pipeline once where 'the edge' is (a fresh clone, the example data) and keep its outputs."""
    clone = fresh_clone(dest)
    result = edge_train(clone, "run", "--no-release")
    assert result.returncode == 0, result.stdout + result.stderr
    return clone


def replay(sandbox: Sandbox, workflow: str, job: str, event: events.Event, **options) -> Replay:
    return Replay(sandbox, WORKFLOWS / workflow, job, event, **options)


SUBMIT_STEPS = (
    "Train on the edge compute through Azure ML (only metrics come back)",
    "Train on the edge compute through Azure ML and wait",
)


def edge_seams(edge: Path) -> dict:
    """The submit steps of pr.yml and train.yml, through the edge job's stand-in."""
    stub = edge_job_stub(edge, RETURNED)
    return dict.fromkeys(SUBMIT_STEPS, stub)


@contextmanager
def git_trusts(workspace: Path) -> Iterator[None]:
    """Let this process's git read `workspace`, a clone the runner user owns.

    The emulator stands for the service, which receives the snapshot `submit` uploads; it builds that snapshot
    from the runner's workspace with `git ls-files`, and git (since 2.35.2) refuses a repository another user
    owns ("detected dubious ownership") unless `safe.directory` names it. The setting goes through git's
    GIT_CONFIG_COUNT environment, for this one folder, and only while the emulator runs.
    """
    from ml.release.gitpush import git_config_entry

    with mock.patch.dict(os.environ, git_config_entry("safe.directory", str(workspace), os.environ)):
        yield


def emulated_edge_seams(secrets: dict[str, str], work: Path) -> dict:
    """The submit steps, with the edge job run by the job emulator (tests/harness/azureml) and `submit` real.

    SEAM: Azure ML would run the job `submit` PUTs. Here the emulator runs the job `submit`'s own code builds
    from the workspace (`build_pipeline_job`), node by node as the service does, its pods reading the ASH
    secret from the fake Key Vault; then the step's own script runs unchanged (`edge-train submit --wait`)
    against the fake workspace, which reports the job Completed and serves the emulated job's returned
    outputs for `jobs.download`. So the release consumes exactly what the emulated job produced.
    """
    from ml.azure.job import RETURNED as RETURNED_OUTPUTS
    from tests.harness.azureml.services import AzureFakes
    from tests.harness.workflow_replay.runner import SHELL
    from tests.integration.edge.edge_project import VAULT_NAME, emulator

    def edge_job_emulated(ctx: StepContext) -> tuple[int, str]:
        if "edge-train submit" not in ctx.script or "--wait" not in ctx.script:
            return 1, f"the step no longer runs `edge-train submit --wait`: {ctx.script!r}"
        folder = Path(tempfile.mkdtemp(prefix="edge-job-", dir=work))
        fakes = AzureFakes(folder / "azure", vault_name=VAULT_NAME, secrets=secrets)
        with fakes, git_trusts(ctx.workspace):
            job = emulator(ctx.workspace, folder / "job", fakes).run()
        if not job.ok:
            return 1, job.report()
        outputs = ctx.sandbox.base / "edge-job-outputs"
        shutil.rmtree(outputs, ignore_errors=True)
        outputs.mkdir()
        for name, returned in RETURNED_OUTPUTS.items():
            produced = job.node(returned.node).outputs[returned.output]
            if produced.is_dir():
                shutil.copytree(produced, outputs / name)
            else:
                (outputs / name).mkdir()
                shutil.copy2(produced, outputs / name / produced.name)
        (outputs / "types.json").write_text(json.dumps({n: r.type for n, r in RETURNED_OUTPUTS.items()}))
        ctx.sandbox.own(outputs)
        step = ctx.sandbox.run(
            [*SHELL, "-c", ctx.script],
            {**ctx.env, "EDGE_TRAIN_REPLAY_JOB_OUTPUTS": str(outputs)},  # azure_seam/replay_azure.py
            ctx.workspace,
            check=False,
        )
        return step.returncode, f"{job.report()}\n{step.stdout}\n{step.stderr}"

    return dict.fromkeys(SUBMIT_STEPS, edge_job_emulated)
