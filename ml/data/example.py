"""The example dataset: scikit-learn's Wisconsin breast-cancer data, exported the same, byte for byte.

It ships inside scikit-learn, so the template trains offline on a fresh machine; patient measurements are
exactly the kind of data that may not leave a hospital. The export is deterministic, so its DVC hash is the
one committed in data.dvc and a fresh clone can re-create the data instead of downloading it.

This module knows the example's own columns; it writes the example only while the schema in
`ml/steps/schema.yaml` is still the example's, so a fork that brought its own data gets the "data not in the
remote" message instead of a table that does not fit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.atomic import atomic_write_text
from ml.steps.schema import Schema

EXAMPLE_FILE = "breast_cancer.csv"
LABEL = "malignant"
"""1 when the tumour is malignant: the positive class, the one we must not miss."""

_MEASUREMENTS = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
)
FEATURES: tuple[str, ...] = (
    *(f"mean {m}" for m in _MEASUREMENTS),
    *(f"{m} error" for m in _MEASUREMENTS),
    *(f"worst {m}" for m in _MEASUREMENTS),
)
"""Numeric measurements of a cell nucleus image, in file order."""


def is_example_schema(schema: Schema) -> bool:
    """True while the schema still describes the example table (a fork's own data makes it False)."""
    return schema.label == LABEL and tuple(schema.names) == FEATURES and schema.task == "binary"


def example_frame() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.copy()
    frame.columns = list(FEATURES)
    # scikit-learn codes benign as 1; we want the positive class to be the disease.
    frame[LABEL] = (1 - bunch.target).astype("int64")
    return frame


def export_example(raw_dir: Path) -> Path:
    """Write the example data as `raw_dir/breast_cancer.csv` and return the path."""
    path = raw_dir / EXAMPLE_FILE
    atomic_write_text(path, example_frame().to_csv(index=False, lineterminator="\n"))
    return path
