"""Version and stage tags in GTO's format, on a real git repository, read back by GTO itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ml.errors import EdgeTrainError
from ml.release.version import create_version, list_versions, promote, stage_tags

pytestmark = pytest.mark.integration
NAME = "breast-cancer-classifier"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "ci@example.invalid")
    git("config", "user.name", "CI")
    (tmp_path / "params.yaml").write_text("train: {}\n")
    git("add", "params.yaml")
    git("commit", "-q", "-m", "first")
    return tmp_path


def fields(model_hash: str, signature: str = "sig1") -> dict[str, str]:
    return {"model_hash": model_hash, "signature_hash": signature, "git_commit": "c", "mlflow_version": "1"}


def test_first_version_is_v1_and_retraining_bumps_minor(repo: Path) -> None:
    assert create_version(repo, NAME, fields("m1")) == (f"{NAME}@v1.0.0", True)
    assert create_version(repo, NAME, fields("m2")) == (f"{NAME}@v1.1.0", True)


def test_a_new_signature_bumps_major(repo: Path) -> None:
    create_version(repo, NAME, fields("m1"))
    assert create_version(repo, NAME, fields("m2", signature="sig2"))[0] == f"{NAME}@v2.0.0"


def test_the_same_model_again_creates_no_tag(repo: Path) -> None:
    create_version(repo, NAME, fields("m1"))
    assert create_version(repo, NAME, fields("m1")) == (f"{NAME}@v1.0.0", False)
    assert [v.version for v in list_versions(repo, NAME)] == ["v1.0.0"]


def test_the_tag_message_carries_the_lineage(repo: Path) -> None:
    create_version(repo, NAME, {**fields("m1"), "data_hash": "d1", "metric.roc_auc": "0.99"})
    (version,) = list_versions(repo, NAME)
    assert version.fields["data_hash"] == "d1" and version.fields["metric.roc_auc"] == "0.99"


def test_a_version_tag_that_exists_for_another_model_is_never_moved(repo: Path) -> None:
    create_version(repo, NAME, fields("m1"))
    with pytest.raises(EdgeTrainError, match=r"already exists and points at commit .* another model"):
        create_version(repo, NAME, fields("m2"), version="v1.0.0")
    assert list_versions(repo, NAME)[0].fields["model_hash"] == "m1"


def test_gto_lists_our_versions_and_stages(repo: Path) -> None:
    create_version(repo, NAME, fields("m1"))
    promote(repo, NAME, "v1.0.0", "prod")
    gto = Path(sys.executable).parent / "gto"
    out = subprocess.run(
        [str(gto), "show", "--json"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert NAME in out and "v1.0.0" in out and "prod" in out


def test_promotion_is_idempotent_and_counts_up_like_gto(repo: Path) -> None:
    create_version(repo, NAME, fields("m1"))
    create_version(repo, NAME, fields("m2"))
    assert promote(repo, NAME, "v1.0.0", "prod") == (f"{NAME}#prod#1", True)
    assert promote(repo, NAME, "v1.0.0", "prod") == (f"{NAME}#prod#1", False)
    assert promote(repo, NAME, "v1.1.0", "prod") == (f"{NAME}#prod#2", True)
    assert stage_tags(repo, NAME, "prod")[-1] == (f"{NAME}#prod#2", "v1.1.0")


def test_promoting_an_unknown_version_names_the_missing_tag(repo: Path) -> None:
    with pytest.raises(EdgeTrainError, match=f"no version tag {NAME}@v9.0.0"):
        promote(repo, NAME, "v9.0.0", "prod")
