"""params.yaml is checked against ml/steps/params.py before anything runs, naming the offending key."""

from pathlib import Path

import pytest

from ml.errors import EdgeTrainError
from ml.params import load_params
from ml.steps.schema import DEFAULT_GATE, load_schema
from tests.conftest import REPO_ROOT


def write_params(tmp_path: Path, text: str) -> Path:
    (tmp_path / "params.yaml").write_text(text)
    return tmp_path


def test_the_templates_params_are_valid():
    params = load_params(REPO_ROOT)
    assert 0 < params.prepare.test_size < 1
    assert set(DEFAULT_GATE[load_schema().task]) <= set(params.gate), "the gate judges the task's metrics"


def test_a_wrong_type_names_the_key_and_the_value(tmp_path):
    root = write_params(tmp_path, "train:\n  max_iter: lots\n")
    with pytest.raises(EdgeTrainError) as error:
        load_params(root)
    assert "params.yaml: train.max_iter" in error.value.message
    assert "'lots'" in error.value.message


def test_an_unknown_key_names_the_key_and_says_to_remove_or_correct_it(tmp_path):
    root = write_params(tmp_path, "train:\n  max_iters: 100\n")
    with pytest.raises(EdgeTrainError) as error:
        load_params(root)
    assert "train.max_iters: unknown key" in error.value.message
    assert "correct its spelling" in error.value.hint


def test_an_integer_is_accepted_where_a_float_is_expected(tmp_path):
    assert load_params(write_params(tmp_path, "train:\n  C: 2\n")).train.C == 2.0


def test_a_value_outside_its_range_is_rejected(tmp_path):
    with pytest.raises(EdgeTrainError, match=r"prepare.test_size"):
        load_params(write_params(tmp_path, "prepare:\n  test_size: 1.5\n"))


def test_a_gate_rule_with_an_unknown_bound_is_rejected(tmp_path):
    with pytest.raises(EdgeTrainError, match=r"gate.roc_auc.minimum: unknown key"):
        load_params(write_params(tmp_path, "gate:\n  roc_auc: {minimum: 0.9}\n"))


def test_a_params_file_that_is_not_a_mapping_says_what_it_expected(tmp_path):
    with pytest.raises(EdgeTrainError, match=r"expected a mapping of sections"):
        load_params(write_params(tmp_path, "- just\n- a list\n"))


def test_a_missing_params_file_is_named(tmp_path):
    with pytest.raises(EdgeTrainError, match=r"params.yaml: file not found"):
        load_params(tmp_path)
