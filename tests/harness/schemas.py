"""Schemas for each task, with every feature kind, so tests prove the steps for any fork, not the example.

`write_schema(folder, schema)` writes one as `folder/schema.yaml`; `EDGE_TRAIN_SCHEMA` points the steps at it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ml.steps.schema import SCHEMA_ENV, Feature, Schema

FEATURES = (
    Feature("age", "numeric"),
    Feature("blood pressure", "numeric"),
    Feature("smoker", "boolean"),
    Feature("region", "categorical", ("north", "south", "east", "west")),
    Feature("plan", "categorical", ("basic", "plus")),
)

SCHEMAS = {
    "binary": Schema("binary", "churned", FEATURES, (0, 1)),
    "multiclass": Schema("multiclass", "species", FEATURES, ("setosa", "versicolor", "virginica")),
    "regression": Schema("regression", "price", FEATURES),
}


def write_schema(folder: Path, schema: Schema) -> Path:
    path = folder / "schema.yaml"
    path.write_text(yaml.safe_dump(schema.as_yaml(), sort_keys=False), encoding="utf-8")
    return path


def use_schema(monkeypatch, folder: Path, schema: Schema) -> Path:
    """Point this test's steps (in-process and child processes) at `schema`."""
    path = write_schema(folder, schema)
    monkeypatch.setenv(SCHEMA_ENV, str(path))
    return path
