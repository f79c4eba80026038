"""`edge-train deploy --target <kubernetes target>`: what it writes, what it refuses, and that a refusal
leaves everything as it was, in well under 10 s, with one line naming the fix."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from ml.cli import app, run_app

from .conftest import MODEL, add_image, tree, write_settings

pytestmark = pytest.mark.usefixtures("skopeo")


def deploy(*args: str) -> int:
    return run_app(app, ["deploy", *args])


def refused(capsys, *args: str) -> str:
    """Run a deploy that must fail: it exits non-zero fast, prints no traceback, and changes no file."""
    root = Path(os.environ["EDGE_TRAIN_ROOT"])
    before = tree(root)
    started = time.monotonic()
    code = deploy(*args)
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code != 0
    assert elapsed < 10
    assert "Traceback" not in err
    assert tree(root) == before
    return err


def manifest(root: Path) -> dict:
    return yaml.safe_load((root / "deploy" / "onprem" / "deployment.yaml").read_text())


def test_the_production_version_is_written_pinned_to_the_registrys_digest(repo: Path, capsys) -> None:
    digest = add_image(repo, "v1.1.0")
    assert deploy("--target", "onprem") == 0
    container = manifest(repo)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"edge-train/breast-cancer-classifier@{digest}"
    assert manifest(repo)["metadata"]["labels"]["app.kubernetes.io/version"] == "v1.1.0"
    assert "kubectl apply — skipped: --apply was not given" in capsys.readouterr().out


def test_deploying_the_deployed_version_again_changes_nothing(repo: Path, capsys) -> None:
    add_image(repo, "v1.1.0")
    assert deploy("--target", "onprem") == 0
    before = tree(repo)
    assert deploy("--target", "onprem") == 0
    assert "it already deploys breast-cancer-classifier@v1.1.0" in capsys.readouterr().out
    assert tree(repo) == before


def test_rollback_returns_to_the_production_version_before(repo: Path) -> None:
    add_image(repo, "v1.0.0")
    add_image(repo, "v1.1.0")
    assert deploy("--target", "onprem") == 0
    assert deploy("--target", "onprem", "--rollback") == 0
    assert manifest(repo)["metadata"]["labels"]["app.kubernetes.io/version"] == "v1.0.0"


def test_the_only_target_is_the_default(repo: Path) -> None:
    add_image(repo, "v1.1.0")
    assert deploy() == 0
    assert manifest(repo)["metadata"]["labels"]["app.kubernetes.io/version"] == "v1.1.0"


def test_a_version_never_promoted_is_refused(repo: Path, capsys) -> None:
    add_image(repo, "v1.2.0")
    err = refused(capsys, "1.2.0", "--target", "onprem")
    assert f"{MODEL}@v1.2.0 was never promoted to production" in err
    assert "edge-train promote 1.2.0" in err or "edge-train promote v1.2.0" in err


def test_a_version_that_does_not_exist_is_refused(repo: Path, capsys) -> None:
    err = refused(capsys, "v9.0.0", "--target", "onprem")
    assert f"no version {MODEL}@v9.0.0" in err and "gto show" in err


def test_a_version_without_its_image_in_the_registry_is_refused(repo: Path, capsys) -> None:
    add_image(repo, "v1.0.0")  # the layout exists, but holds no image for the production version v1.1.0
    err = refused(capsys, "--target", "onprem")
    assert f"{MODEL}@v1.1.0 has no image in build/oci" in err and "edge-train push" in err


def test_an_image_that_holds_another_model_is_refused(repo: Path, capsys) -> None:
    add_image(repo, "v1.1.0", model="v1.0.0")
    err = refused(capsys, "--target", "onprem")
    assert "not breast-cancer-classifier@v1.1.0's model" in err


def test_an_image_whose_digest_is_not_the_recorded_one_is_refused(repo: Path, capsys) -> None:
    from ml.state import update_state

    update_state(repo, pushed={"ref": f"{MODEL}@v1.1.0", "digest": "sha256:" + "0" * 64})
    add_image(repo, "v1.1.0")
    err = refused(capsys, "--target", "onprem")
    assert "not the sha256:0000000000" in err and "overwritten" in err


def test_an_unknown_target_is_refused_naming_the_declared_ones(repo: Path, capsys) -> None:
    err = refused(capsys, "--target", "prod")
    assert "no deploy target 'prod' in edge-train.toml (declared: onprem)" in err
    assert "[deploy.prod]" in err


def test_a_target_of_an_unknown_kind_is_refused(repo: Path, capsys) -> None:
    write_settings(repo, '[deploy.onprem]\nkind = "vm"\n')
    err = refused(capsys, "--target", "onprem")
    assert "deploy.onprem.kind" in err and "'kubernetes', 'arc' or 'cloud'" in err


def test_an_azure_target_without_its_endpoint_is_refused_before_any_call(repo: Path, capsys) -> None:
    write_settings(repo, '[deploy.edge]\nkind = "arc"\n')
    err = refused(capsys, "--target", "edge")
    assert "deploy.edge: endpoint, instance_type not set" in err


def test_an_image_name_with_uppercase_letters_is_refused(repo: Path, capsys) -> None:
    text = (
        (repo / "edge-train.toml")
        .read_text()
        .replace('name = "edge-train/breast-cancer-classifier"', 'name = "Edge-Train/Model"')
    )
    (repo / "edge-train.toml").write_text(text)
    err = refused(capsys, "--target", "onprem")
    assert "[image] name = 'Edge-Train/Model' is not a valid image name" in err and "lowercase" in err


def test_rollback_with_no_earlier_production_version_is_refused(repo: Path, capsys) -> None:
    add_image(repo, "v1.0.0")
    assert deploy("v1.0.0", "--target", "onprem") == 0
    err = refused(capsys, "--target", "onprem", "--rollback")
    assert "no production version before v1.0.0" in err


def test_an_azure_target_without_a_registry_is_refused(repo: Path, capsys) -> None:
    write_settings(repo, '[deploy.edge]\nkind = "arc"\nendpoint = "edge-scoring"\ninstance_type = "cpu"\n')
    err = refused(capsys, "--target", "edge")
    assert "[image] registry is empty" in err and "azurecr.io" in err


def test_with_no_target_declared_deploy_skips_and_says_why(repo: Path, capsys) -> None:
    """promote.yml always runs deploy; a fork that declares no target still promotes."""
    write_settings(repo, "")
    assert deploy("--target", "", "--", "v1.1.0") == 0
    assert "declares no [deploy.<name>] target" in capsys.readouterr().out
    assert not (repo / "deploy").exists()


def test_deploy_check_on_a_kubernetes_target_says_nothing_is_sent(repo: Path, capsys) -> None:
    assert deploy("--check", "--target", "onprem") == 0
    assert "its pods send nothing anywhere" in capsys.readouterr().out
