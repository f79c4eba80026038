"""Metrics and params are compared key by key, nested keys as dotted paths."""

from ml.report.diff import MISSING, as_number, diff, flatten


def test_a_param_nested_three_levels_deep_is_one_dotted_row():
    base = {"train": {"optimizer": {"adam": {"beta1": 0.9}}}}
    head = {"train": {"optimizer": {"adam": {"beta1": 0.8}}}}
    [change] = diff(base, head)
    assert (change.key, change.base, change.head, change.kind) == (
        "train.optimizer.adam.beta1",
        0.9,
        0.8,
        "changed",
    )


def test_added_and_removed_keys_are_marked_missing_on_the_other_side():
    changes = {c.key: c for c in diff({"old": 1.0, "same": 2.0}, {"new": 3.0, "same": 2.0})}
    assert changes["old"].kind == "removed" and changes["old"].head is MISSING
    assert changes["new"].kind == "added" and changes["new"].base is MISSING
    assert changes["same"].kind == "unchanged"


def test_delta_only_for_two_numbers():
    numeric, text, flag = diff({"a": 0.5, "b": "x", "c": True}, {"a": 0.75, "b": "y", "c": False})
    assert numeric.delta == 0.25
    assert text.delta is None and text.kind == "changed"
    assert flag.delta is None


def test_none_is_a_value_not_a_missing_key():
    [change] = diff({"a": None}, {"a": 1})
    assert change.kind == "changed"


def test_an_emptied_section_still_shows():
    assert flatten({"gate": {}}) == {"gate": {}}


def test_nan_and_infinity_are_not_numbers_to_subtract():
    assert as_number(float("nan")) is None
    assert as_number(float("inf")) is None
    assert as_number(3) == 3.0
