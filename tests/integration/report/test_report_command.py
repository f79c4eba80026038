"""`edge-train report` on real git repositories: the edge cases end in a clear line, never a traceback."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ml.cli import app, run_app
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


# The gate these cases judge by (a fork's params.yaml holds its own task's gate; the rules are the same).
GATE = "gate:\n  roc_auc: {min: 0.95, max_drop: 0.01}\n  f1: {min: 0.9, max_drop: 0.02}\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repo with this checkout's params.yaml, with GATE as its gate, on `main`, and no metrics yet."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.test")
    git(tmp_path, "config", "user.name", "T")
    params = (REPO_ROOT / "params.yaml").read_text()
    (tmp_path / "params.yaml").write_text(
        re.sub(r"(?m)^gate:[^\n]*\n(?:[ \t]+[^\n]*\n|[ \t]*\n)*", "", params) + GATE
    )
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "params only")
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(tmp_path))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def write_metrics(root: Path, metrics: dict) -> None:
    (root / "reports").mkdir(exist_ok=True)
    (root / "reports" / "metrics.json").write_text(json.dumps(metrics))


def report(root: Path, *args: str) -> tuple[int, str]:
    code = run_app(app, ["report", "--output", str(root / "report.md"), *args])
    return code, (root / "report.md").read_text() if (root / "report.md").exists() else ""


def test_first_pr_without_base_metrics_reports_every_metric_as_new(repo):
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    code, text = report(repo, "--base", "main", "--check")
    assert code == 0
    assert (
        "Base metrics: none: no published version reachable from the base, no `reports/metrics.json` at"
        in text
    )
    assert "| `roc_auc` | — | 0.9700 | new |" in text
    assert "max_drop 0.01 not checked: no base value" in text


def test_a_base_ref_that_does_not_exist_is_a_note_not_a_crash(repo):
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    code, text = report(repo, "--base", "origin/never-fetched")
    assert code == 0
    assert "> Base `origin/never-fetched` does not exist in this clone" in text


def test_removed_added_and_non_numeric_metrics_and_a_failing_gate(repo):
    write_metrics(repo, {"roc_auc": 0.99, "f1": 0.95, "old": 1.0, "model": "v1"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "trained")
    write_metrics(repo, {"roc_auc": 0.96, "f1": 0.95, "new": 2.0, "model": "v2"})
    code, text = report(repo, "--base", "main", "--check")
    assert code == 1, "the gate fails: roc_auc dropped 0.03, more than max_drop 0.01"
    assert "## edge-train report: ❌ quality gate failed" in text
    assert "| ❌ fail | `roc_auc` | 0.96 ≥ min 0.95; drop 0.03 > max_drop 0.01 (base 0.99) |" in text
    assert "| `old` | 1.0000 | — | removed |" in text
    assert "| `new` | — | 2.0000 | new |" in text
    assert "| `model` | `v1` | `v2` | changed (not a number) |" in text


def test_without_dvc_the_data_section_says_why(repo):
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    _, text = report(repo, "--base", "main")
    assert "> Data not compared: DVC:" in text


def test_a_run_without_metrics_is_an_error_with_the_fix(repo, capsys):
    code, _ = report(repo, "--base", "main")
    assert code == 1
    assert "run `edge-train run`" in capsys.readouterr().err


def test_comment_outside_actions_is_an_error_with_the_fix(repo, capsys):
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    code, _ = report(repo, "--base", "main", "--comment")
    assert code == 1
    assert "--comment needs GITHUB_TOKEN" in capsys.readouterr().err


def test_the_job_summary_gets_the_report_when_actions_sets_the_variable(repo, monkeypatch, tmp_path):
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report(repo, "--base", "main")
    assert summary.read_text().startswith("earlier step\n<!-- edge-train:report -->")


def test_a_change_to_the_gate_itself_is_called_out(repo):
    write_metrics(repo, {"roc_auc": 0.97, "f1": 0.93})
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("roc_auc: {min: 0.95,", "roc_auc: {min: 0.5,"))
    _, text = report(repo, "--base", "main")
    assert "> This change edits the quality gate itself" in text
    assert "| `gate.roc_auc.min` | 0.9500 | 0.5000 |" in text


def test_history_chart_plots_the_metric_over_main_commits_then_this_pr(repo):
    for value in (0.96, 0.97, 0.98):
        write_metrics(repo, {"roc_auc": value, "f1": 0.93})
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"roc_auc {value}")
    write_metrics(repo, {"roc_auc": 0.99, "f1": 0.93})
    _, text = report(repo, "--base", "main", "--history", "2")
    chart = text.split('title "roc_auc: recent main commits → this PR"')[1].split("```")[0]
    assert "line [0.97, 0.98, 0.99]" in chart
    assert chart.count('", "') == 2, "two main commits, then this PR"


def test_without_committed_metrics_the_production_models_tags_are_the_base(repo):
    from mlflow import MlflowClient

    from ml.tracking import configure_mlflow

    configure_mlflow(repo)  # the template's default store: sqlite:///mlflow.db at the root
    client = MlflowClient()
    client.create_registered_model("breast-cancer-classifier")
    version = client.create_model_version(
        "breast-cancer-classifier", source=str(repo), tags={"metric.roc_auc": "0.99", "metric.f1": "0.95"}
    )
    client.set_registered_model_alias("breast-cancer-classifier", "production", version.version)
    write_metrics(repo, {"roc_auc": 0.985, "f1": 0.95})
    code, text = report(repo, "--base", "main", "--check")
    assert code == 0
    assert "Base metrics: registry tags of `breast-cancer-classifier` version 1 (`production`)." in text
    assert "| `roc_auc` | 0.9900 | 0.9850 | -0.0050 ▼ worse |" in text
