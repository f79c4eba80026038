"""The whole release on real parts: train → register → version → package → push to a loopback registry →
pull the image back → run its server from the unpacked layers → score. Then: idempotence, residency, errors.

Slow (a real image build): run with `pytest -m slow`. Needs root, buildah, skopeo, docker-registry and
mmdebstrap (tests/tools/install.sh installs them); no Docker Hub, no PyPI.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from ml.release.image import Buildah
from ml.steps.schema import load_schema
from tests.conftest import REPO_ROOT, require_tool
from tests.harness.image_server import image_server
from tests.integration.release.base_image import base_name, build_base

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NAME = "breast-cancer-classifier"
IMAGE = "edge-train/breast-cancer-classifier"
STORAGE = REPO_ROOT / ".tools" / "buildah"
BASE = base_name()


def edge_train(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "EDGE_TRAIN_ROOT": str(repo),
        "EDGE_TRAIN_BUILDAH_STORAGE": str(STORAGE),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "edge-train"), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"edge-train {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def write_settings(repo: Path, registry: str, name: str = IMAGE) -> None:
    (repo / "edge-train.toml").write_text(
        f'[image]\nname = "{name}"\nregistry = "{registry}"\nbase = "{BASE}"\n'
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, registry: str) -> Path:
    for tool, hint in (
        ("buildah", "apt-get install buildah"),
        ("skopeo", "apt-get install skopeo"),
        ("mmdebstrap", "apt-get install mmdebstrap"),
    ):
        require_tool(tool, f"{hint} (or: make test-tools)")
    if os.geteuid() != 0:
        pytest.skip("buildah with vfs storage and chroot isolation needs root")
    build_base(Buildah(REPO_ROOT, STORAGE).command(), BASE)
    clone = tmp_path_factory.mktemp("checkout") / "repo"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(REPO_ROOT), str(clone)], check=True)
    for key, value in (("user.email", "ci@example.invalid"), ("user.name", "CI")):
        subprocess.run(["git", "config", key, value], cwd=clone, check=True)
    write_settings(clone, registry)
    edge_train(clone, "run", "--no-release")
    return clone


def release(repo: Path) -> SimpleNamespace:
    """What train.yml runs after training: push the image, then tag the version with its digest."""
    pushed, tagged = edge_train(repo, "push"), edge_train(repo, "version")
    return SimpleNamespace(stdout=pushed.stdout + tagged.stdout, stderr=pushed.stderr + tagged.stderr)


@pytest.fixture(scope="module")
def first_push(repo: Path) -> SimpleNamespace:
    return release(repo)


def remote(registry: str, tag: str = "v1.0.0") -> dict:
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{registry}/{IMAGE}:{tag}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def pulled(first_push, registry: str, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The image pulled back from the registry into an OCI layout: its layer blobs, in order."""
    layout = tmp_path_factory.mktemp("pulled") / "oci"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            f"docker://{registry}/{IMAGE}:v1.0.0",
            f"oci:{layout}:pulled",
        ],
        check=True,
    )
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_text())
    return [_blob(layout, layer["digest"]) for layer in manifest["layers"]]


def _blob(layout: Path, digest: str) -> Path:
    algorithm, value = digest.split(":")
    return layout / "blobs" / algorithm / value


@pytest.fixture(scope="module")
def scoring_url(pulled: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The image's own server, run from its unpacked layers under chroot."""
    rootfs = tmp_path_factory.mktemp("rootfs")
    for layer in pulled:
        with tarfile.open(layer) as tar:
            tar.extractall(rootfs, filter="tar")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "EDGE_TRAIN_MODEL_ROOT": "/srv/model"}
    command = [shutil.which("chroot") or "/usr/sbin/chroot", str(rootfs), "python3", "/srv/model/server.py"]
    with image_server(command, env, tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


def post(url: str, body: object) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_the_release_registers_versions_and_pushes_with_oci_annotations(
    repo: Path, first_push, registry: str
):
    assert "registered breast-cancer-classifier version 1" in first_push.stdout
    assert f"tagged {NAME}@v1.0.0" in first_push.stdout
    assert f"pushed {registry}/{IMAGE}:v1.0.0" in first_push.stdout
    tag_message = subprocess.run(
        ["git", "tag", "-l", "-n99", f"{NAME}@v1.0.0"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert f"image_digest: {remote(registry)['Digest']}" in tag_message, "the tag records the pushed image"
    labels = remote(registry)["Labels"]
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    assert labels["org.opencontainers.image.revision"].startswith(commit)
    assert labels["org.opencontainers.image.version"] == "v1.0.0"
    assert labels["org.opencontainers.image.source"] == str(REPO_ROOT)
    assert (repo / "artifacts" / "portable" / "model.onnx").is_file()


def test_the_pulled_image_scores_like_the_native_model(repo: Path, scoring_url: str) -> None:
    from ml.modelio import load_native_model

    features = load_schema().names
    rows = pd.read_parquet(repo / "artifacts" / "prepared" / "test.parquet")[features]
    expected = load_native_model(repo / "artifacts" / "model").predict(rows).tolist()
    split = post(
        f"{scoring_url}/invocations",
        {"dataframe_split": {"columns": features, "data": rows.to_numpy().tolist()}},
    )
    records = post(f"{scoring_url}/invocations", {"dataframe_records": rows.to_dict(orient="records")})
    assert split["predictions"] == expected
    assert records["predictions"] == expected


def test_the_image_reports_its_lineage(repo: Path, scoring_url: str) -> None:
    with urllib.request.urlopen(f"{scoring_url}/version", timeout=10) as response:
        lineage = json.loads(response.read())
    tag_message = subprocess.run(
        ["git", "tag", "-l", "-n99", f"{NAME}@v1.0.0"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert lineage["version"] == "v1.0.0"
    for key in ("model_hash", "data_hash", "params_hash", "git_commit"):
        assert f"{key}: {lineage[key]}" in tag_message


def test_releasing_the_same_commit_again_creates_nothing(repo: Path, first_push, registry: str) -> None:
    digest = remote(registry)["Digest"]
    tags = subprocess.run(["git", "tag"], cwd=repo, capture_output=True, text=True).stdout
    again = release(repo)
    assert "already version 1" in again.stdout
    assert f"already {NAME}@v1.0.0" in again.stdout
    assert "it already holds this image" in again.stdout
    assert remote(registry)["Digest"] == digest
    assert subprocess.run(["git", "tag"], cwd=repo, capture_output=True, text=True).stdout == tags


def _training_rows(repo: Path) -> list[bytes]:
    """Needles for each training row: its raw CSV line, and its first values as JSON would write them."""
    train = pd.read_parquet(repo / "artifacts" / "prepared" / "train.parquet")
    lines = [
        line for path in sorted((repo / "data").rglob("*.csv")) for line in path.read_text().splitlines()[1:]
    ]
    needles = [line.encode() for line in lines]
    needles += [json.dumps(row[:4].tolist())[1:-1].encode() for row in train[load_schema().names].to_numpy()]
    return needles


def _leaks(name: str, data: bytes, needles: list[bytes]) -> list[str]:
    return [f"{name}: {needle[:40]!r}" for needle in needles if needle in data]


def test_no_training_row_is_in_any_image_layer(repo: Path, pulled: list[Path]) -> None:
    needles = _training_rows(repo)
    leaks = []
    for layer in pulled:
        with tarfile.open(layer) as tar:
            for member in tar:
                if member.isfile() and member.size < 50_000_000:
                    leaks += _leaks(
                        f"{layer.name[:12]}:{member.name}", tar.extractfile(member).read(), needles
                    )
    assert leaks == []


def test_no_training_row_is_in_any_mlflow_artifact(repo: Path, first_push) -> None:
    needles = _training_rows(repo)
    stores = [repo / d for d in ("mlruns", "mlartifacts") if (repo / d).is_dir()]
    assert stores, "the MLflow artifact store was not where expected"
    leaks = []
    for path in (p for store in stores for p in store.rglob("*") if p.is_file()):
        data = path.read_bytes()
        leaks += _leaks(
            str(path.relative_to(repo)), gzip.decompress(data) if path.suffix == ".gz" else data, needles
        )
    assert leaks == []


def test_a_registry_that_refuses_the_push_leaves_the_version_unpromoted(
    repo: Path, first_push, refusing_registry: str, registry: str
) -> None:
    write_settings(repo, refusing_registry)
    try:
        failed = edge_train(repo, "push", check=False)
        assert failed.returncode != 0
        assert "pushing to" in failed.stderr and "stays unpromoted" in failed.stderr
        assert "Traceback" not in failed.stderr
        refused = edge_train(repo, "promote", f"{NAME}@v1.0.0", "--stage", "production", check=False)
        assert refused.returncode != 0 and "not promoted" in refused.stderr
        assert not subprocess.run(
            ["git", "tag", "-l", f"{NAME}#production#*"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
    finally:
        write_settings(repo, registry)
    edge_train(repo, "push")
    promoted = edge_train(repo, "promote", f"{NAME}@v1.0.0", "--stage", "production")
    assert f"tag {NAME}#production#1" in promoted.stdout
    assert f"MLflow alias {NAME}@production → version" in promoted.stdout


def test_an_invalid_image_name_is_refused_before_anything_is_built(repo: Path, first_push, registry: str):
    write_settings(repo, registry, name="Edge Train/Model")
    try:
        result = edge_train(repo, "push", check=False)
    finally:
        write_settings(repo, registry)
    assert result.returncode != 0
    assert "[image] name = 'Edge Train/Model' is not a valid image name" in result.stderr
    assert "Traceback" not in result.stderr
