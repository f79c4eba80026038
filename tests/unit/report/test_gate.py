"""The quality gate: one verdict per gated metric, with the reasons a reviewer reads."""

from ml.params import GateRule
from ml.report.gate import evaluate

RULES = {"roc_auc": GateRule(min=0.95, max_drop=0.01)}


def test_passes_above_min_with_a_small_drop():
    [verdict] = evaluate(RULES, {"roc_auc": 0.99}, {"roc_auc": 0.985})
    assert verdict.passed
    assert verdict.reasons == ("0.985 ≥ min 0.95", "drop 0.005 ≤ max_drop 0.01")


def test_fails_below_min():
    [verdict] = evaluate(RULES, {"roc_auc": 0.94}, {"roc_auc": 0.94})
    assert not verdict.passed
    assert "0.94 < min 0.95" in verdict.reasons


def test_fails_on_a_drop_larger_than_allowed():
    [verdict] = evaluate(RULES, {"roc_auc": 0.99}, {"roc_auc": 0.97})
    assert not verdict.passed
    assert verdict.reasons[1] == "drop 0.02 > max_drop 0.01 (base 0.99)"


def test_a_drop_exactly_at_the_limit_passes():
    [verdict] = evaluate({"f1": GateRule(max_drop=0.02)}, {"f1": 0.95}, {"f1": 0.93})
    assert verdict.passed


def test_without_base_metrics_max_drop_is_reported_as_not_checked():
    [verdict] = evaluate(RULES, None, {"roc_auc": 0.99})
    assert verdict.passed
    assert "max_drop 0.01 not checked: no base value" in verdict.reasons


def test_max_bounds_a_metric_where_lower_is_better():
    [verdict] = evaluate({"log_loss": GateRule(max=0.1)}, None, {"log_loss": 0.2})
    assert not verdict.passed and verdict.reasons == ("0.2 > max 0.1",)


def test_a_gated_metric_the_run_did_not_produce_fails():
    [verdict] = evaluate(RULES, {"roc_auc": 0.99}, {"f1": 0.9})
    assert not verdict.passed and verdict.reasons == ("the run produced no such metric",)


def test_a_non_numeric_gated_metric_fails_with_its_value():
    [verdict] = evaluate(RULES, None, {"roc_auc": "n/a"})
    assert not verdict.passed and verdict.reasons == ("value 'n/a' is not a number",)


def test_nested_metrics_are_gated_by_dotted_name():
    [verdict] = evaluate({"test.roc_auc": GateRule(min=0.5)}, None, {"test": {"roc_auc": 0.9}})
    assert verdict.passed


def test_max_drop_of_a_lower_is_better_metric_bounds_its_rise() -> None:
    from ml.params import GateRule
    from ml.report.gate import evaluate as judge

    rules = {"rmse": GateRule(max_drop=0.5)}
    assert judge(rules, {"rmse": 2.0}, {"rmse": 1.0})[0].passed  # fell: better
    worse = judge(rules, {"rmse": 2.0}, {"rmse": 2.6})[0]
    assert not worse.passed and "drop 0.6 > max_drop 0.5" in worse.reasons[0]
