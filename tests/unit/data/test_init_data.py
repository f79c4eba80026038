"""`edge-train init --data FILE --label COLUMN`: infer the schema, refuse bad tables before writing anything.

The tables are written here as a forker would bring them (text categories, booleans, ids, missing values).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.data.adopt import adopt
from ml.data.infer import infer
from ml.errors import EdgeTrainError
from tests.badinput.corpus import MISTAKE_S

REPO_ROOT = Path(__file__).resolve().parents[3]


def table(rows: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows) + 1,
            "age": rng.integers(18, 90, rows).astype(float),
            "region": rng.choice(["north", "south", "east"], rows),
            "smoker": rng.choice(["true", "false"], rows),
            "constant": 7,
            "empty": np.nan,
        }
    )
    frame.loc[::9, "age"] = np.nan
    frame["churned"] = rng.choice(["no", "yes"], rows)
    frame["grade"] = rng.choice(["A", "B", "C"], rows)
    frame["price"] = rng.normal(100, 20, rows).round(2)
    return frame


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "mine.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("label", "task", "classes"),
    [
        ("churned", "binary", ("no", "yes")),
        ("grade", "multiclass", ("A", "B", "C")),
        ("price", "regression", ()),
    ],
)
def test_the_task_and_classes_follow_the_label(tmp_path, label, task, classes) -> None:
    frame = table().drop(columns=[c for c in ("churned", "grade", "price") if c != label])
    decision = infer(write(tmp_path, frame), label)
    assert decision.schema.task == task and decision.schema.classes == classes


def test_feature_kinds_are_inferred_and_ids_constants_and_empty_columns_left_out(tmp_path) -> None:
    decision = infer(write(tmp_path, table()), "churned")
    kinds = {f.name: f.kind for f in decision.schema.features}
    assert kinds == {
        "age": "numeric",
        "region": "categorical",
        "smoker": "boolean",
        "grade": "categorical",
        "price": "numeric",
    }
    assert set(decision.dropped) == {"customer_id", "constant", "empty"}
    assert "identifier" in decision.dropped["customer_id"]
    assert decision.missing == {"age": 14}


def test_category_values_are_listed_unless_the_user_keeps_them_out_of_git(tmp_path) -> None:
    path = write(tmp_path, table())
    listed = {f.name: f.categories for f in infer(path, "churned").schema.features}
    unlisted = {f.name: f.categories for f in infer(path, "churned", list_categories=False).schema.features}
    assert listed["region"] and all(values == () for values in unlisted.values())
    assert set(unlisted) == set(listed)  # the same features, kinds unchanged


def test_an_integer_label_with_few_values_is_classes_and_with_many_a_regression(tmp_path) -> None:
    frame = table(300).assign(stars=lambda f: np.arange(len(f)) % 5 + 1, score=lambda f: np.arange(len(f)))
    assert infer(write(tmp_path, frame.drop(columns="score")), "stars").schema.classes == (1, 2, 3, 4, 5)
    assert infer(write(tmp_path, frame.drop(columns="stars")), "score").schema.task == "regression"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "fork"
    root.mkdir()
    for folder in ("components", "ml"):  # what `pipeline compile` reads to write dvc.yaml
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("params.yaml", "pipelines/train.yml", "dvc.yaml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, root / name)
    return root


def _non_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,churned\nJosé,yes\nZoë,no\n".encode("latin-1"))
    return path


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return path


BAD = {
    "no such label": (lambda p: write(p, table()), "outcome", "auto", "no column 'outcome' to predict"),
    "one class": (lambda p: write(p, table().assign(churned="no")), "churned", "auto", "has a single value"),
    "text label as regression": (
        lambda p: write(p, table(400).assign(city=[f"c{i % 250}" for i in range(400)])),
        "city",
        "regression",
        "is text with 250 distinct values: a regression needs numbers",
    ),
    "too many classes": (
        lambda p: write(p, table(400).assign(city=[f"c{i % 250}" for i in range(400)])),
        "city",
        "auto",
        "250 distinct values: too many classes",
    ),
    "missing labels": (
        lambda p: write(p, table().assign(churned=lambda f: f["churned"].where(f.index % 10 > 0))),
        "churned",
        "auto",
        "12 row(s) have no value in label 'churned'",
    ),
    "binary asked for three classes": (lambda p: write(p, table()), "grade", "binary", "--task binary but"),
    "not UTF-8": (_non_utf8, "churned", "auto", "not UTF-8 text"),
    "empty file": (_empty, "churned", "auto", "the file is empty"),
    "header only": (lambda p: write(p, table().head(0)), "churned", "auto", "a header but no rows"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gets_one_clear_message_fast_and_nothing_is_written(tmp_path, checkout, case) -> None:
    make, label, task, message = BAD[case]
    source = make(tmp_path)
    before = _snapshot(checkout)
    started = time.monotonic()
    with pytest.raises(EdgeTrainError) as error:
        adopt(checkout, source, label, task, model_name="my-model")
    assert time.monotonic() - started < 10
    assert message in error.value.message and error.value.hint
    assert _snapshot(checkout) == before


def test_a_bad_model_name_is_refused_before_reading_anything(tmp_path, checkout) -> None:
    with pytest.raises(EdgeTrainError, match="--model-name 'My Model'"):
        adopt(checkout, tmp_path / "absent.csv", "churned", model_name="My Model")


@pytest.mark.integration
def test_adopting_writes_schema_data_names_and_gate_and_a_second_run_changes_nothing(
    tmp_path, checkout
) -> None:
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=checkout, check=True, env=_env())
    source = write(tmp_path, table().drop(columns=["churned", "price"]))

    decision = adopt(checkout, source, "grade", model_name="grade-model")
    assert decision.schema.task == "multiclass"
    assert "task: multiclass" in (checkout / "ml/steps/schema.yaml").read_text()
    assert (checkout / "data/raw/mine.csv").read_bytes() == source.read_bytes()
    assert (checkout / "data.dvc").is_file()
    assert "f1_macro: {max_drop: 0.02}" in (checkout / "params.yaml").read_text()
    assert 'name = "grade-model"' in (checkout / "edge-train.toml").read_text()
    assert "experiment_name: grade-model" in (checkout / "pipelines/train.yml").read_text()
    assert "reports/plots/prc.json" not in (checkout / "dvc.yaml").read_text(), "binary plots in dvc.yaml"

    before = _snapshot(checkout)
    again = adopt(checkout, source, "grade", model_name="grade-model")
    assert "nothing changed" in " ".join(again.warnings)
    assert {k: v for k, v in _snapshot(checkout).items() if not k.startswith(".dvc/")} == {
        k: v for k, v in before.items() if not k.startswith(".dvc/")
    }


def _env() -> dict[str, str]:
    import os
    import sys

    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.slow
def test_a_100_mb_table_is_streamed_with_progress_and_decided_in_under_10_s(tmp_path, monkeypatch) -> None:
    import io

    from rich.console import Console

    import ml.console

    block = write(tmp_path, table(20_000)).read_bytes()
    header, body = block.split(b"\n", 1)
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.write(header + b"\n")
        while out.tell() < 100 << 20:
            out.write(body)
    screen = io.StringIO()
    monkeypatch.setattr(ml.console, "err_console", Console(file=screen, force_terminal=True, width=100))

    started = time.monotonic()
    decision = infer(path, "churned")
    elapsed = time.monotonic() - started

    assert decision.schema.task == "binary" and decision.rows > 1_000_000
    assert "reading big.csv" in screen.getvalue()  # the progress display, shown while the file streams in
    # Goal: 10 s. Measured 5-7 s for 100 MiB with a load average of 14 on 2 cores (01 Dec); the bound has
    # room for a loaded CI runner and still catches a fall back to row-by-row parsing (minutes).
    assert elapsed < 2 * MISTAKE_S, f"{elapsed:.1f} s"
