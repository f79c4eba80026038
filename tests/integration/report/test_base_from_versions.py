"""The report's base is the newest published version the base branch contains, with its data noted.

A version tag's annotation carries the metrics of its model (`metric.*`), the data it trained on and the run;
the base of a pull request is what production was trained as, not a developer's local run committed on main.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.report.test_report_command import git, repo, report, write_metrics

__all__ = ["repo"]  # the fixture


def tag_version(root: Path, tag: str, fields: dict[str, str]) -> None:
    message = "Registering artifact\n\n" + "".join(f"{k}: {v}\n" for k, v in sorted(fields.items()))
    subprocess.run(
        ["git", "tag", "--annotate", "--file=-", tag], cwd=root, input=message, text=True, check=True
    )


def write_data_dvc(root: Path, md5: str) -> None:
    (root / "data.dvc").write_text(f"outs:\n- md5: {md5}.dir\n  path: data\n")


EDGE_RUN = {"pipeline_run": "edge-job-42", "data_hash": "a" * 32, "model_hash": "m1"}


def test_the_newest_version_on_the_base_is_the_base(repo: Path) -> None:
    write_data_dvc(repo, "a" * 32)
    write_metrics(repo, {"roc_auc": 0.50, "f1": 0.50})  # a local run committed on main: not the base
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "local metrics")
    tag_version(
        repo, "breast-cancer-classifier@v1.0.0", {**EDGE_RUN, "metric.roc_auc": "0.9", "metric.f1": "0.8"}
    )
    tag_version(
        repo, "breast-cancer-classifier@v1.1.0", {**EDGE_RUN, "metric.roc_auc": "0.99", "metric.f1": "0.95"}
    )
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.95})
    code, text = report(repo, "--base", "main", "--ran-on", "edge", "--check")
    assert "Base metrics: version `breast-cancer-classifier@v1.1.0`" in text
    assert code == 1, "roc_auc fell 0.02 from v1.1.0's 0.99: more than max_drop"


def test_a_version_not_on_the_base_branch_is_not_its_base(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "elsewhere")
    git(repo, "commit", "-q", "--allow-empty", "-m", "side branch")
    tag_version(repo, "breast-cancer-classifier@v9.0.0", {**EDGE_RUN, "metric.roc_auc": "1.0"})
    git(repo, "checkout", "-q", "main")
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    _, text = report(repo, "--base", "main")
    assert "v9.0.0" not in text


def test_without_a_version_the_committed_metrics_are_the_base_and_the_report_says_so(repo: Path) -> None:
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "metrics")
    _, text = report(repo, "--base", "main")
    assert "committed at" in text and "fallback: no published version is reachable" in text


def test_a_fork_run_on_the_example_data_is_not_judged_against_the_edge_base(repo: Path) -> None:
    write_data_dvc(repo, "a" * 32)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "data")
    tag_version(
        repo, "breast-cancer-classifier@v1.0.0", {**EDGE_RUN, "metric.roc_auc": "0.99", "metric.f1": "0.99"}
    )
    write_metrics(repo, {"roc_auc": 0.96, "f1": 0.93})  # lower, on other data
    code, text = report(repo, "--base", "main", "--ran-on", "local", "--check")
    assert code == 0, "a drop between different data is not a regression"
    assert "Not like for like" in text
    assert "not judged: the base ran on other data" in text


def test_a_base_trained_on_other_data_is_not_like_for_like(repo: Path) -> None:
    write_data_dvc(repo, "a" * 32)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "data")
    tag_version(
        repo, "breast-cancer-classifier@v1.0.0", {**EDGE_RUN, "metric.roc_auc": "0.99", "metric.f1": "0.99"}
    )
    write_data_dvc(repo, "b" * 32)
    write_metrics(repo, {"roc_auc": 0.96, "f1": 0.93})
    code, text = report(repo, "--base", "main", "--ran-on", "edge", "--check")
    assert code == 0 and "trained on other data" in text
