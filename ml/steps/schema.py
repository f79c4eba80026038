"""The shape the training data must have, read from `schema.yaml` next to this file.

`edge-train init --data` writes schema.yaml from a table; edit it to override what init inferred. Everything
else follows it: `prepare` checks every raw file against it, `train` builds the model for its task and
feature kinds, `evaluate` picks the metrics, and the machinery (synthetic data, ONNX export, serving) asks
this module instead of knowing any column.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from ml.errors import EdgeTrainError

SCHEMA_FILE = Path(__file__).with_name("schema.yaml")
SCHEMA_PATH = "ml/steps/schema.yaml"
"""The same file, relative to the repository root (for commands that work on a checkout)."""
SCHEMA_ENV = "EDGE_TRAIN_SCHEMA"
TASKS = ("binary", "multiclass", "regression")
KINDS = ("numeric", "boolean", "categorical")

Task = Literal["binary", "multiclass", "regression"]
Kind = Literal["numeric", "boolean", "categorical"]


LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "mape"})
"""Metrics `evaluate` writes where a smaller value is the better model (the report and the gate read this)."""

DEFAULT_GATE: dict[str, dict[str, dict[str, float]]] = {
    "binary": {"roc_auc": {"max_drop": 0.01}, "f1": {"max_drop": 0.02}},
    "multiclass": {"f1_macro": {"max_drop": 0.02}, "accuracy": {"max_drop": 0.02}},
    "regression": {"r2": {"max_drop": 0.02}},
}
"""The quality gate per task when params.yaml has no `gate:` section: not worse than the base branch
(`max_drop` is a fall for higher-is-better metrics and a rise for those in LOWER_IS_BETTER)."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Kind
    categories: tuple[str, ...] = ()
    """Known categories of a categorical feature (used for synthetic data; unseen ones are scored too)."""


@dataclass(frozen=True)
class Schema:
    task: Task
    label: str
    features: tuple[Feature, ...]
    classes: tuple[object, ...] = ()
    """The label's values for classification; for binary the second is the positive class."""

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def of_kind(self, *kinds: Kind) -> list[str]:
        return [f.name for f in self.features if f.kind in kinds]

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    def as_yaml(self) -> dict:
        """The mapping `schema.yaml` holds (what `edge-train init --data` writes)."""
        body: dict = {"task": self.task, "label": self.label}
        if self.classes:
            body["classes"] = list(self.classes)
        body["features"] = {
            f.name: {"kind": f.kind, "categories": list(f.categories)} if f.categories else f.kind
            for f in self.features
        }
        return body


def load_schema(path: Path | None = None) -> Schema:
    """The schema in `path`; by default `$EDGE_TRAIN_SCHEMA` when set (tests point the steps at a schema of
    each task with it), else the file beside this module."""
    if path is None:
        path = Path(os.environ.get(SCHEMA_ENV) or SCHEMA_FILE)
    return _load(path.resolve(), path.stat().st_mtime_ns if path.is_file() else 0)


@cache
def _load(path: Path, _mtime: int) -> Schema:
    """Checked and cached per file version: a mistake names the file, the key and the fix."""
    where = f"{path}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgeTrainError(
            f"{where}: not found", hint="describe your data with `edge-train init --data FILE --label COLUMN`"
        ) from None
    except yaml.YAMLError as exc:
        raise EdgeTrainError(
            f"{where}: not valid YAML: {exc}", hint="fix the syntax at the line shown"
        ) from None
    return parse_schema(raw, where)


def parse_schema(raw: object, where: str = "schema") -> Schema:
    if not isinstance(raw, dict):
        raise EdgeTrainError(f"{where}: expected a mapping", hint="see docs/own-data.md for the layout")
    task = raw.get("task")
    if task not in TASKS:
        raise EdgeTrainError(f"{where}: task is {task!r}", hint=f"set task to one of: {', '.join(TASKS)}")
    label = raw.get("label")
    if not isinstance(label, str) or not label:
        raise EdgeTrainError(f"{where}: label must name a column", hint="set label: <the column to predict>")
    features = tuple(_feature(where, name, spec) for name, spec in (raw.get("features") or {}).items())
    if not features:
        raise EdgeTrainError(f"{where}: no features", hint="list the feature columns under features:")
    if label in {f.name for f in features}:
        raise EdgeTrainError(
            f"{where}: {label!r} is both the label and a feature", hint="remove it from features"
        )
    classes = tuple(raw.get("classes") or ())
    if task == "regression" and classes:
        raise EdgeTrainError(
            f"{where}: classes given for a regression", hint="remove classes, or change task"
        )
    wanted = 2 if task == "binary" else 3
    if task != "regression" and (len(classes) < wanted or (task == "binary" and len(classes) != 2)):
        raise EdgeTrainError(
            f"{where}: task {task} needs {'exactly 2' if task == 'binary' else 'at least 3'} classes, "
            f"found {len(classes)}",
            hint="list the label's values under classes:, or change task",
        )
    return Schema(task=task, label=label, features=features, classes=classes)


def _feature(where: str, name: object, spec: object) -> Feature:
    kind, categories = (
        (spec.get("kind"), spec.get("categories") or []) if isinstance(spec, dict) else (spec, [])
    )
    if kind not in KINDS:
        raise EdgeTrainError(
            f"{where}: feature {name!r} has kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}"
        )
    return Feature(name=str(name), kind=kind, categories=tuple(str(c) for c in categories))
