"""A merge to main, replayed end to end: train.yml releases, the next PR reads its base, promote.yml promotes.

The edge job runs in the job emulator (tests/harness/azureml): the pipeline `submit` builds, node by node
as Azure ML runs it, against ASH (Azurite behind the gate, private CA) holding the data; the step's own
`edge-train submit --wait` then downloads what that job produced. The Azure ML workspace is the
documented-shape fake with a registry kept across steps and workflows; origin is a bare repository the
unprivileged user pushes tags to. The image registry is a real OCI registry on loopback (the ACR token
exchange is covered by tests/unit/release/test_contract_acr.py) with an offline base image; the unprivileged
user builds rootless.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from ml.lineage import content_hash
from ml.release.image import Buildah
from tests.conftest import IN_CI, REPO_ROOT, require_tool
from tests.harness.azureml.sandbox import SandboxUnavailable, sandbox_prefix
from tests.harness.servers import Stack, running_stack
from tests.harness.workflow_replay import events
from tests.harness.workflow_replay.sandbox import Sandbox
from tests.integration.clone import edge_train, fresh_clone
from tests.integration.edge.edge_project import connect_to_ash, vault_secrets
from tests.integration.release.base_image import base_name, build_base
from tests.integration.release.conftest import start_registry
from tests.integration.report.fake_github import TOKEN, serve_fake_github
from tests.integration.workflows.replay import (
    EDGE_SETTINGS,
    EDGE_VARS,
    emulated_edge_seams,
    replay,
)

# The first test pays for a local run, an emulated edge job (4 nodes) and a fresh Install step.
pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1800)]
MODEL = "breast-cancer-classifier"
SUBMIT = "Train on the edge compute through Azure ML and wait"
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
def ash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The edge's storage: Azurite behind the ASH gate, HTTPS with a private CA."""
    require_tool("azurite-blob", "bash tests/tools/install.sh (npm azurite@3.35.0)")
    try:
        sandbox_prefix()
    except SandboxUnavailable as exc:
        pytest.fail(str(exc)) if IN_CI else pytest.skip(str(exc))
    with running_stack(tmp_path_factory.mktemp("ash"), tls=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    image_registry: tuple[str, str],
    ash: Stack,
    replay_sandbox: Sandbox,
) -> dict:
    """main after `edge-train init`: the edge set up, the data on ASH, the image registry configured."""
    sandbox = replay_sandbox
    sandbox.reset_origin()
    maintainer = fresh_clone(tmp_path_factory.mktemp("maintainer") / "edge-train")
    local = edge_train(maintainer, "run", "--no-release")  # the example data into the DVC cache
    assert local.returncode == 0, local.stdout + local.stderr
    connect_to_ash(maintainer, ash)  # pushes the data to ASH, commits the remote and the pods' Key Vault
    storage_and_vault = (maintainer / "edge-train.toml").read_text()
    registry, base = image_registry
    settings = (
        EDGE_SETTINGS
        + storage_and_vault.split("[azure]\n", 1)[1]  # key_vault_url, into EDGE_SETTINGS' [azure] table
        + storage_and_vault.split("[azure]\n", 1)[0]
        + f'[image]\nregistry = "{registry}"\nbase = "{base}"\n'
    )
    (maintainer / "edge-train.toml").write_text(settings)
    subprocess.run(
        ["git", "commit", "-qam", "edge-train init: the edge is set up"], cwd=maintainer, check=True
    )

    def rev(name: str) -> str:
        return subprocess.run(
            ["git", "rev-parse", name], cwd=maintainer, capture_output=True, text=True, check=True
        ).stdout.strip()

    before, merged = rev("HEAD~2"), rev("HEAD")
    sandbox.publish(maintainer, {"refs/heads/main": merged})
    state = sandbox.base / "azure-workspace.json"
    state.unlink(missing_ok=True)
    return {
        "sandbox": sandbox,
        "checkout": maintainer,
        "before": before,
        "merged": merged,
        "registry": state,
        "seams": emulated_edge_seams(vault_secrets(maintainer, ash), tmp_path_factory.mktemp("edge-jobs")),
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
        seams=world["seams"],
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
    produced = sandbox.base / "edge-job-outputs"  # what the emulated edge job wrote to its outputs
    returned = content_hash(produced / "model")
    assert fields["model_hash"] == returned, "the version is the model the edge job produced, byte for byte"
    assert fields["onnx_hash"] == content_hash(produced / "portable" / "model.onnx"), (
        "the image ships the ONNX model the edge checked against the held-out rows the runner never sees"
    )
    submitted = re.search(r"submitted (\S+) to compute", result.step(SUBMIT).stdout)
    assert submitted, result.step(SUBMIT).stdout
    assert fields["pipeline_run"] == submitted[1], "the version names the Azure ML job that trained it"
    registered = json.loads(world["registry"].read_text())[MODEL]
    assert [v["properties"]["tags"]["edge_train.model_hash"] for v in registered.values()] == [returned]
    assert [v["properties"]["tags"]["edge_train.pipeline_run"] for v in registered.values()] == [submitted[1]]
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
    metrics = json.loads(next((produced / "metrics").iterdir()).read_text())
    assert float(fields["metric.roc_auc"]) == pytest.approx(metrics["roc_auc"], rel=1e-5)


def image_digest(world: dict) -> str:
    reference = f"docker://{world['images']}/{IMAGE}:v1.0.0"
    inspect = ["skopeo", "inspect", "--tls-verify=false", reference]
    return json.loads(subprocess.run(inspect, capture_output=True, text=True, check=True).stdout)["Digest"]


def test_running_the_merge_again_leaves_no_new_tag_model_version_or_image(world: dict) -> None:
    tags, registry, digest = origin_tags(world["sandbox"]), world["registry"].read_text(), image_digest(world)
    result = train(world)  # another emulated job: the same bytes, restored from the run cache on ASH
    assert result.ok, result.failures()
    assert origin_tags(world["sandbox"]) == tags
    assert world["registry"].read_text() == registry
    assert image_digest(world) == digest, "the version's image was rebuilt onto its tag"


def test_the_next_pull_request_reports_against_the_released_version(world: dict) -> None:
    sandbox = world["sandbox"]
    sandbox.publish(
        world["checkout"], {"refs/pull/2/merge": world["merged"], "refs/pull/2/head": world["merged"]}
    )
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
            seams=world["seams"],
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
