"""Plot files stay a few kilobytes at any number of rows, and DVC still draws them.

They are tracked in git and are outputs the edge job sends to the cloud: one point per distinct score or one
record per test row would make them grow with the data (25 MB at a million rows).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.steps.evaluate import CURVE_POINTS, compute_plots
from ml.steps.schema import Schema

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / ".dvc" / "plots" / "confusion_counts.json"


def dvc_confusion_template_summing_counts() -> dict:
    """DVC's own confusion template, with its row count replaced by the sum of the `count` field."""
    from dvc_render.vega_templates import ConfusionTemplate

    content = copy.deepcopy(ConfusionTemplate.DEFAULT_CONTENT)
    aggregate = content["spec"]["transform"][0]
    assert aggregate["aggregate"] == [{"op": "count", "as": "xy_count"}], "DVC's template changed shape"
    aggregate["aggregate"] = [{"op": "sum", "field": "count", "as": "xy_count"}]
    return content


def test_the_counts_template_is_dvcs_confusion_template_summing_count() -> None:
    assert json.loads(TEMPLATE.read_text()) == dvc_confusion_template_summing_counts(), (
        f"{TEMPLATE.relative_to(ROOT)} is stale for this DVC: rewrite it from"
        " dvc_confusion_template_summing_counts() in this test"
    )


@pytest.fixture(scope="module")
def many_rows() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 300_000)
    proba = np.clip(truth * 0.3 + rng.random(300_000) * 0.7, 0, 1)
    return truth, np.column_stack([1 - proba, proba])


def test_binary_plots_are_bounded_and_the_counts_add_up(many_rows) -> None:
    truth, scores = many_rows
    schema = Schema(task="binary", label="y", classes=(0, 1), features=())
    plots = compute_plots(schema, truth, scores)
    assert len(plots["roc.json"]) <= CURVE_POINTS and len(plots["prc.json"]) <= CURVE_POINTS
    roc = plots["roc.json"]
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0) and (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    assert len(plots["confusion.json"]) <= 4
    assert sum(cell["count"] for cell in plots["confusion.json"]) == len(truth)


def test_multiclass_plots_are_bounded(many_rows) -> None:
    truth, _ = many_rows
    rng = np.random.default_rng(1)
    labels = np.asarray(["a", "b", "c"], dtype=object)[(truth + rng.integers(0, 2, len(truth))) % 3]
    proba = rng.dirichlet(np.ones(3), len(truth))
    schema = Schema(task="multiclass", label="y", classes=("a", "b", "c"), features=())
    plots = compute_plots(schema, labels, proba)
    assert len(plots["roc.json"]) <= 3 * CURVE_POINTS
    assert len(plots["confusion.json"]) <= 9
    assert sum(cell["count"] for cell in plots["confusion.json"]) == len(labels)


def test_dvc_draws_the_confusion_counts_with_the_template(tmp_path) -> None:
    """The real `dvc plots show` finds the template in .dvc/plots and fills it with the counts."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".dvc" / "plots").mkdir()
    (tmp_path / ".dvc" / "plots" / TEMPLATE.name).write_bytes(TEMPLATE.read_bytes())
    cells = [{"actual": 0, "predicted": 0, "count": 50}, {"actual": 1, "predicted": 0, "count": 3}]
    (tmp_path / "confusion.json").write_text(json.dumps(cells))
    (tmp_path / "dvc.yaml").write_text(
        "plots:\n- confusion.json:\n    template: confusion_counts\n    x: actual\n    y: predicted\n"
    )
    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "--json"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    spec = json.loads(shown.stdout)["data"]["confusion.json"][0]["content"]
    assert spec["spec"]["transform"][0]["aggregate"][0] == {"op": "sum", "field": "count", "as": "xy_count"}
    assert [row["count"] for row in spec["data"]["values"]] == [50, 3]
