"""A merge to main, replayed end to end: train.yml releases, the next PR reads its base, promote.yml promotes.

The edge job is the stand-in of tests/harness/workflow_replay/stubs.py (it returns what the pipeline
returns); the Azure ML workspace is the documented-shape fake with a registry kept across steps and
workflows; origin is a bare repository the unprivileged user pushes tags to. The image registry is a real
OCI registry on loopback (the ACR token exchange is covered by tests/unit/release/test_contract_acr.py) with
an offline base image; the unprivileged user builds rootless.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from ml.lineage import content_hash
from ml.release.image import Buildah
from tests.conftest import REPO_ROOT, require_tool
from tests.harness.workflow_replay import events
from tests.harness.workflow_replay.sandbox import Sandbox
from tests.integration.release.base_image import base_name, build_base
from tests.integration.release.conftest import start_registry
from tests.integration.report.fake_github import TOKEN, serve_fake_github
from tests.integration.workflows.replay import (
    EDGE_SETTINGS,
    EDGE_VARS,
    commit_with,
    edge_outputs,
    edge_seams,
    replay,
    worktree_commit,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]
MODEL = "breast-cancer-classifier"
IMAGE = "edge-train/breast-cancer-classifier"


@pytest.fixture(scope="module")
def image_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real OCI registry on loopback holding the offline test base image: (registry, base reference)."""
    for tool in ("buildah", "skopeo", "docker-registry", "mmdebstrap"):
        require_tool(tool, f"apt-get install {tool} (or: make test-tools)")
    if os.geteuid() != 0:
        pytest.skip("the test base image is built with buildah vfs storage, which needs root here")
    process, address = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        storage = REPO_ROOT / ".tools" / "buildah"
        buildah = Buildah(REPO_ROOT, storage).command()
        local = build_base(buildah, base_name())
        base = f"{address}/edge-train-test-base:{base_name().rsplit(':', 1)[1]}"
        subprocess.run(
            [*buildah, "push", "--quiet", "--tls-verify=false", local, f"docker://{base}"], check=True
        )
        yield address, base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, image_registry: tuple[str, str], replay_sandbox: Sandbox
) -> dict:
    sandbox = replay_sandbox
    sandbox.reset_origin()
    before = worktree_commit()
    registry, base = image_registry
    settings = EDGE_SETTINGS + f'\n[image]\nregistry = "{registry}"\nbase = "{base}"\n'
    merged = commit_with(before, {"edge-train.toml": settings}, "edge-train init: the edge is set up")
    sandbox.publish(REPO_ROOT, {"refs/heads/main": merged})
    state = sandbox.base / "azure-workspace.json"
    state.unlink(missing_ok=True)
    edge = edge_outputs(tmp_path_factory.mktemp("edge") / "edge-train")
    return {
        "sandbox": sandbox,
        "before": before,
        "merged": merged,
        "registry": state,
        "edge": edge,
        "images": registry,
    }


def train(world: dict):
    event = events.push(world["before"], world["merged"])
    return replay(
        world["sandbox"],
        "train.yml",
        "train",
        event,
        vars=EDGE_VARS,
        oidc=True,
        seams=edge_seams(world["edge"]),
        azure_state=world["registry"],
    ).run()


def origin_tags(sandbox: Sandbox) -> dict[str, str]:
    out = subprocess.run(
        [
            "git",
            "-c",
            "safe.directory=*",
            "for-each-ref",
            "refs/tags",
            "--format=%(refname:strip=2) %(*objectname)",
        ],
        cwd=sandbox.origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def annotation(sandbox: Sandbox, tag: str) -> dict[str, str]:
    text = subprocess.run(
        ["git", "-c", "safe.directory=*", "for-each-ref", f"refs/tags/{tag}", "--format=%(contents)"],
        cwd=sandbox.origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def test_a_merge_releases_a_version_whose_identity_is_the_registered_bytes(world: dict) -> None:
    result = train(world)
    assert result.ok, result.failures()
    sandbox = world["sandbox"]
    tags = origin_tags(sandbox)
    assert tags.get(f"{MODEL}@v1.0.0") == world["merged"], "the tag is on the commit that was trained"
    fields = annotation(sandbox, f"{MODEL}@v1.0.0")
    returned = content_hash(world["edge"] / "artifacts" / "model")
    assert fields["model_hash"] == returned, "the version is the model the edge returned, byte for byte"
    registered = json.loads(world["registry"].read_text())[MODEL]
    assert [v["properties"]["tags"]["edge_train.model_hash"] for v in registered.values()] == [returned]
    assert fields["azureml_version"] in registered
    image = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", f"docker://{world['images']}/{IMAGE}:v1.0.0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert fields["image_digest"] == image["Digest"], "the tag records the image the registry holds"
    assert image["Labels"]["io.github.edge-train.model-hash"] == returned
    metrics = json.loads((world["edge"] / "reports" / "metrics.json").read_text())
    assert float(fields["metric.roc_auc"]) == pytest.approx(metrics["roc_auc"], rel=1e-5)


def test_running_the_merge_again_leaves_no_new_tag_or_model_version(world: dict) -> None:
    tags, registry = origin_tags(world["sandbox"]), world["registry"].read_text()
    result = train(world)
    assert result.ok, result.failures()
    assert origin_tags(world["sandbox"]) == tags
    assert world["registry"].read_text() == registry


def test_the_next_pull_request_reports_against_the_released_version(world: dict) -> None:
    sandbox = world["sandbox"]
    sandbox.publish(REPO_ROOT, {"refs/pull/2/merge": world["merged"], "refs/pull/2/head": world["merged"]})
    event = events.pull_request(2, world["merged"], world["merged"], world["merged"])
    with serve_fake_github(TOKEN) as github:
        result = replay(
            sandbox,
            "pr.yml",
            "report",
            event,
            vars=EDGE_VARS,
            oidc=True,
            runner_env={"GITHUB_API_URL": github.url},
            seams=edge_seams(world["edge"]),
            token=TOKEN,
            azure_state=world["registry"],
        ).run()
    assert result.ok, result.failures()
    assert f"version `{MODEL}@v1.0.0`" in result.summary, result.summary


def test_promote_checks_and_marks_the_version(world: dict) -> None:
    sandbox = world["sandbox"]
    event = events.workflow_dispatch(world["merged"], {"version": "1.0.0"}, "promote.yml")
    result = replay(
        sandbox, "promote.yml", "promote", event, vars=EDGE_VARS, oidc=True, azure_state=world["registry"]
    ).run()
    assert result.ok, result.failures()
    assert any(tag.startswith(f"{MODEL}#production#") for tag in origin_tags(sandbox))
    registered = json.loads(world["registry"].read_text())[MODEL]
    assert [v["properties"]["tags"].get("stage") for v in registered.values()] == ["production"]
