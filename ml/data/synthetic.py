"""Synthetic data of the current schema, for benchmarks and tests at any size and for any fork.

Every feature gets values of its kind (numbers, booleans, the schema's categories), a few of them missing,
and the label depends on the features through a fixed random rule, so a model has something to learn.
Nothing is drawn from real rows: the generator needs only `ml/steps/schema.yaml`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.steps.schema import Schema, load_schema

MISSING_SHARE = 0.02
"""Share of feature values left empty, so the imputation path is always exercised."""


def synthetic_frame(
    rows: int, seed: int = 0, schema: Schema | None = None, missing: float = MISSING_SHARE
) -> pd.DataFrame:
    schema = schema or load_schema()
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(index=range(rows))
    signal = np.zeros(rows)
    for feature in schema.features:
        if feature.kind == "categorical":
            categories = np.asarray(feature.categories or ("a", "b", "c"), dtype=object)
            codes = rng.integers(0, len(categories), size=rows)
            signal += rng.normal(size=len(categories))[codes]
            values = pd.Series(categories[codes], dtype=object)
        elif feature.kind == "boolean":
            flags = rng.random(rows) < 0.5
            signal += rng.normal() * flags
            values = pd.Series(flags, dtype=object)
        else:
            numbers = rng.normal(size=rows)
            signal += rng.normal() * numbers
            values = pd.Series((10 + 3 * numbers).round(5))
        holes = rng.random(rows) < missing
        frame[feature.name] = values.where(~holes, None if feature.kind != "numeric" else np.nan)
    signal = (signal - signal.mean()) / (signal.std() or 1.0) + rng.normal(scale=0.5, size=rows)
    frame[schema.label] = _labels(schema, signal)
    return frame


def _labels(schema: Schema, signal: np.ndarray) -> pd.Series:
    if schema.task == "regression":
        return pd.Series((100 + 15 * signal).round(4))
    classes = list(schema.classes)
    # Cut the signal at its quantiles, so every class gets a share of the rows and depends on the features.
    edges = np.quantile(signal, np.linspace(0, 1, len(classes) + 1)[1:-1])
    codes = np.searchsorted(edges, signal)
    values = pd.Series(np.asarray(classes, dtype=object)[codes])
    return values.astype("int64") if all(type(c) is int for c in classes) else values
