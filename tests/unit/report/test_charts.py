"""Charts are Mermaid xychart blocks: text GitHub renders, holding only aggregates."""

from ml.report.charts import ROC_GRID, history_chart, roc_chart


def test_history_chart_has_one_labelled_point_per_commit():
    chart = history_chart("roc_auc", [("abc1234", 0.99), ("this PR", 0.98)])
    assert chart.startswith("```mermaid\nxychart-beta\n") and chart.endswith("\n```")
    assert 'x-axis ["abc1234", "this PR"]' in chart
    assert "line [0.99, 0.98]" in chart


def test_history_chart_y_axis_frames_a_flat_line():
    chart = history_chart("f1", [("a", 0.9), ("b", 0.9)])
    assert 'y-axis "f1" 0.89 --> 0.91' in chart


def test_roc_curves_are_sampled_on_one_grid_as_step_functions():
    curve = [
        {"fpr": 0.0, "tpr": 0.0},
        {"fpr": 0.0, "tpr": 0.5},
        {"fpr": 0.25, "tpr": 1.0},
        {"fpr": 1.0, "tpr": 1.0},
    ]
    chart = roc_chart(curve, curve)
    lines = [line.strip() for line in chart.splitlines() if line.strip().startswith("line")]
    assert len(lines) == 2
    assert lines[0] == "line [0.5, 0.5, 0.5, 1, 1, 1, 1, 1, 1, 1, 1]"
    assert len(ROC_GRID) == 11


def test_roc_chart_without_base_draws_one_line():
    chart = roc_chart(None, [{"fpr": 0.0, "tpr": 1.0}])
    assert chart.count("line [") == 1
