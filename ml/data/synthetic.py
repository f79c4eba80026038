"""Synthetic data of the current schema, for benchmarks and tests at any size and for any fork.

Every feature gets values of its kind (numbers, booleans, the schema's categories), a few of them missing,
and the label depends on the features through a fixed random rule, so a model has something to learn.
Nothing is drawn from real rows: the generator needs only `ml/steps/schema.yaml`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml.steps.schema import Schema, load_schema

MISSING_SHARE = 0.02
"""Share of feature values left empty, so the imputation path is always exercised."""
CHUNK_ROWS = 1_000_000
"""Rows generated at once when writing a file: 10 million rows are written in the memory of one million."""


def synthetic_frame(
    rows: int, seed: int = 0, schema: Schema | None = None, missing: float = MISSING_SHARE, chunk: int = 0
) -> pd.DataFrame:
    """`rows` rows; the rule that makes the label comes from `seed` alone, the rows from (`seed`, `chunk`),
    so the chunks of a large file are different rows labelled by the same rule."""
    schema = schema or load_schema()
    rule = np.random.default_rng(seed)
    rng = np.random.default_rng([seed, chunk])
    frame = pd.DataFrame(index=range(rows))
    signal = np.zeros(rows)
    for feature in schema.features:
        if feature.kind == "categorical":
            categories = np.asarray(feature.categories or ("a", "b", "c"), dtype=object)
            codes = rng.integers(0, len(categories), size=rows)
            signal += rule.normal(size=len(categories))[codes]
            values = pd.Series(categories[codes], dtype=object)
        elif feature.kind == "boolean":
            flags = rng.random(rows) < 0.5
            signal += rule.normal() * flags
            values = pd.Series(flags, dtype=object)
        else:
            numbers = rng.normal(size=rows)
            signal += rule.normal() * numbers
            values = pd.Series((10 + 3 * numbers).round(5))
        holes = rng.random(rows) < missing
        frame[feature.name] = values.where(~holes, None if feature.kind != "numeric" else np.nan)
    signal = (signal - signal.mean()) / (signal.std() or 1.0) + rng.normal(scale=0.5, size=rows)
    frame[schema.label] = _labels(schema, signal)
    return frame


def write_synthetic_csv(path: Path, rows: int, seed: int = 0, schema: Schema | None = None) -> None:
    """`rows` synthetic rows as CSV, generated and written `CHUNK_ROWS` at a time (the label is cut at each
    chunk's own quantiles: every chunk has every class)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    schema = schema or load_schema()
    writer = None
    try:
        for chunk, start in enumerate(range(0, rows, CHUNK_ROWS)):
            frame = synthetic_frame(min(CHUNK_ROWS, rows - start), seed, schema, chunk=chunk)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pacsv.CSVWriter(path, table.schema.remove_metadata())
            writer.write_table(table.replace_schema_metadata())  # Arrow writes CSV ~7x faster than pandas
    finally:
        if writer is not None:
            writer.close()


def _labels(schema: Schema, signal: np.ndarray) -> pd.Series:
    if schema.task == "regression":
        return pd.Series((100 + 15 * signal).round(4))
    classes = list(schema.classes)
    # Cut the signal at its quantiles, so every class gets a share of the rows and depends on the features.
    edges = np.quantile(signal, np.linspace(0, 1, len(classes) + 1)[1:-1])
    codes = np.searchsorted(edges, signal)
    values = pd.Series(np.asarray(classes, dtype=object)[codes])
    return values.astype("int64") if all(type(c) is int for c in classes) else values
