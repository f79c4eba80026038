"""The Markdown a reviewer reads: every edge case is a clear line, never a crash."""

from ml.report.build import Report
from ml.report.data import DataChange
from ml.report.diff import diff
from ml.report.gate import Verdict
from ml.report.render import MARKER, render


def make_report(**overrides) -> Report:
    fields = dict(
        base_ref="origin/main",
        base_commit="0123456789abcdef",
        head="fedcba9",
        ran_on="local",
        base_metrics_source="`reports/metrics.json` committed at `0123456`",
        metrics=diff({"roc_auc": 0.99, "f1": 0.95}, {"roc_auc": 0.98, "f1": 0.95}),
        params=[c for c in diff({"train": {"C": 1.0}}, {"train": {"C": 0.5}}) if c.kind != "unchanged"],
        verdicts=[Verdict("roc_auc", True, ("0.98 ≥ min 0.95", "drop 0.01 ≤ max_drop 0.01"))],
    )
    fields.update(overrides)
    return Report(**fields)


def test_starts_with_the_hidden_marker_the_sticky_comment_is_found_by():
    assert render(make_report()).startswith(MARKER + "\n")


def test_shows_metric_deltas_changed_params_and_the_gate_line():
    text = render(make_report())
    assert "## edge-train report: ✅ quality gate passed" in text
    assert "| `roc_auc` | 0.9900 | 0.9800 | -0.0100 ▼ worse |" in text
    assert "| `f1` | 0.9500 | 0.9500 | 0 |" in text
    assert "| `train.C` | 1.0000 | 0.5000 |" in text
    assert "| ✅ pass | `roc_auc` | 0.98 ≥ min 0.95; drop 0.01 ≤ max_drop 0.01 |" in text


def test_a_failed_gate_is_the_headline():
    text = render(make_report(verdicts=[Verdict("roc_auc", False, ("0.9 < min 0.95",))]))
    assert "## edge-train report: ❌ quality gate failed" in text
    assert "| ❌ fail | `roc_auc` | 0.9 < min 0.95 |" in text


def test_added_removed_and_non_numeric_metrics_each_say_so():
    metrics = diff({"old": 0.1, "note": "v1"}, {"new": 0.2, "note": "v2"})
    text = render(make_report(metrics=metrics))
    assert "| `old` | 0.1000 | — | removed |" in text
    assert "| `new` | — | 0.2000 | new |" in text
    assert "| `note` | `v1` | `v2` | changed (not a number) |" in text


def test_no_base_metrics_says_where_it_looked():
    source = "none: no `reports/metrics.json` at `0123456` and no `production` model in the registry"
    text = render(make_report(base_metrics_source=source, metrics=diff({}, {"roc_auc": 0.98})))
    assert f"Base metrics: {source}." in text
    assert "| `roc_auc` | — | 0.9800 | new |" in text


def test_a_missing_base_ref_is_a_note_and_skips_params_and_data():
    note = "Base `origin/nope` does not exist in this clone: nothing to compare with"
    text = render(make_report(base_ref="origin/nope", base_commit=None, notes=[note], params=[]))
    assert f"> {note}" in text
    assert "### Params" not in text and "### Data" not in text
    assert "Comparing `fedcba9` and this run with base `origin/nope`." in text


def test_data_changes_list_files_with_row_counts():
    data = [
        DataChange("data/raw/extra.csv", "added", None, 10),
        DataChange("data/raw/breast_cancer.csv", "modified", 569, 549),
    ]
    text = render(make_report(data=data))
    assert "| `data/raw/breast_cancer.csv` | modified | 569 | 549 | -20 |" in text
    assert "| `data/raw/extra.csv` | added | — | 10 | — |" in text


def test_no_params_changed_is_said_not_left_blank():
    assert "No parameter in `params.yaml` changed." in render(make_report(params=[]))


def test_where_the_metrics_came_from_is_stated():
    assert "the edge compute through Azure ML" in render(make_report(ran_on="edge"))
    assert "a local run (`--target local`)" in render(make_report(ran_on="local"))


def test_pipes_in_values_do_not_break_the_table():
    text = render(make_report(metrics=diff({}, {"a|b": "x|y"})))
    assert "| `a\\|b` | — | `x\\|y` | new |" in text


def test_charts_appear_when_there_is_history_and_a_roc_curve():
    roc = [{"fpr": 0.0, "tpr": 1.0}]
    text = render(
        make_report(history={"roc_auc": [("0123456", 0.99), ("this PR", 0.98)]}, roc_base=roc, roc_head=roc)
    )
    assert text.count("```mermaid") == 2
    assert "first line: base, second line: this change" in text
