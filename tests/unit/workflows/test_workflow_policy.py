"""House rules for the workflows that no linter enforces by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = {p.name: p for p in (ROOT / ".github" / "workflows").glob("*.yml")}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); map it back.
    data = yaml.safe_load(WORKFLOWS[name].read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_third_party_actions_are_pinned_by_commit_sha_with_the_version_in_a_comment(name):
    lines = [
        line.strip().removeprefix("- ")
        for line in WORKFLOWS[name].read_text().splitlines()
        if line.strip().removeprefix("- ").startswith("uses:")
    ]
    assert lines
    for line in lines:
        assert PINNED.match(line.removeprefix("uses: ")), line


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_no_default_permissions_and_each_job_declares_its_own(name):
    workflow = load(name)
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert "permissions" in job


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_no_expression_is_interpolated_into_a_shell_script(name):
    for step in steps(load(name)):
        assert "${{" not in step.get("run", ""), step


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_checkout_never_leaves_the_token_in_git_config(name):
    for step in steps(load(name)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_no_workflow_runs_untrusted_code_with_write_tokens_via_pull_request_target():
    assert all("pull_request_target" not in load(name)["on"] for name in WORKFLOWS)


def test_pr_report_job_may_write_pull_requests_and_nothing_else():
    job = load("pr.yml")["jobs"]["report"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}


def test_forks_get_no_cloud_credentials_and_no_comment():
    job = load("pr.yml")["jobs"]["report"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert same_repo in job["env"]["EDGE"] and same_repo in job["env"]["SAME_REPO"]
    login = next(s for s in job["steps"] if s.get("uses", "").startswith("azure/login@"))
    assert login["if"] == "env.EDGE == 'true'"


def test_training_runs_one_merge_at_a_time_and_only_for_model_changes():
    workflow = load("train.yml")
    assert workflow["concurrency"] == {"group": "train-main", "cancel-in-progress": False}
    assert "params.yaml" in workflow["on"]["push"]["paths"]
    assert "workflow_dispatch" in workflow["on"]


def test_promotion_waits_for_the_protected_production_environment():
    job = load("promote.yml")["jobs"]["promote"]
    assert job["environment"] == "production"


def test_azure_login_uses_oidc_never_a_client_secret():
    for name in WORKFLOWS:
        for step in steps(load(name)):
            if step.get("uses", "").startswith("azure/login@"):
                assert set(step["with"]) == {"client-id", "tenant-id", "subscription-id"}


def test_training_path_filters_cover_every_source_dependency_in_dvc_yaml():
    from fnmatch import fnmatch

    filters = load("train.yml")["on"]["push"]["paths"]
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values()
    outputs = {next(iter(o)) if isinstance(o, dict) else o for s in stages for o in s.get("outs", [])}
    sources = {d for s in stages for d in s.get("deps", []) if d not in outputs}
    for dep in sorted(sources):
        watched = "data.dvc" if dep.startswith("data/") else dep  # data changes arrive as data.dvc
        assert any(fnmatch(watched, f) for f in filters), f"train.yml does not retrain when {dep} changes"
    assert {"params.yaml", "dvc.yaml"} <= set(filters)
