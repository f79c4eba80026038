"""promote.yml deploys what it promotes, behind the production environment, from main only."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[3] / ".github" / "workflows" / "promote.yml"


def job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["promote"]


def test_the_deploy_step_follows_the_promotion_with_the_same_version():
    steps = [step.get("name") for step in job()["steps"]]
    assert steps.index("Deploy") == steps.index("Promote") + 1
    deploy = job()["steps"][steps.index("Deploy")]
    assert deploy["env"]["VERSION"] == "${{ inputs.version }}"
    assert '-- "$VERSION"' in deploy["run"] and '--target "$TARGET"' in deploy["run"]


def test_the_target_is_a_workflow_input_defaulting_to_edge_train_toml():
    inputs = yaml.safe_load(WORKFLOW.read_text())[True]["workflow_dispatch"]["inputs"]  # `on:` parses as True
    assert inputs["target"]["default"] == ""


def test_only_main_deploys_and_only_after_the_production_approval():
    assert job()["environment"] == "production"
    assert job()["if"] == "github.ref == 'refs/heads/main'"
