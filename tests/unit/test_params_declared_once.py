"""A hyperparameter is declared once (ml/steps/params.py); YAML copies of it are checked, never trusted.

One reader of `<section>_<key>` pipeline input names serves compile and submit alike.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ml.errors import EdgeTrainError
from ml.params import split_input_name
from ml.pipeline.sync import compiled_text

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("train_C", {"train": {"C": 1}}, ("train", "C")),
        ("train_max_iter", {"train": {"max_iter": 1}}, ("train", "max_iter")),
        (
            "feature_eng_max_bins",
            {"feature": {"x": 1}, "feature_eng": {"max_bins": 8}},
            ("feature_eng", "max_bins"),
        ),
        ("train_nothing", {"train": {"C": 1}}, None),
    ],
)
def test_one_reading_of_section_key_names_even_with_underscores(name, params, expected) -> None:
    assert split_input_name(name, params) == expected


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("pipelines", "components", "ml/steps"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(tmp_path))
    return tmp_path


def test_a_component_bound_that_drifts_from_the_declaration_fails_compile_naming_the_fix(repo: Path) -> None:
    component = repo / "components" / "train.yml"
    component.write_text(
        component.read_text().replace("    default: 500\n    min: 1\n", "    default: 500\n    min: 5\n")
    )
    with pytest.raises(
        EdgeTrainError,
        match=r"train\.yml: inputs\.max_iter\.min is 5.*train\.max_iter with min 1: set it to 1",
    ):
        compiled_text(repo)


def test_a_params_yaml_key_that_reaches_no_step_fails_compile_saying_where(repo: Path) -> None:
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("  seed: 42\n", "  seed: 42\n  max_features: 3\n", 1))
    with pytest.raises(
        EdgeTrainError, match=r"prepare\.max_features reaches no step: add the input `prepare_max_features`"
    ):
        compiled_text(repo)


def test_the_template_agrees_with_its_declaration() -> None:
    assert "stages:" in compiled_text(REPO_ROOT)
