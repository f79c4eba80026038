"""The example dataset: scikit-learn's Wisconsin breast-cancer data, exported the same, byte for byte.

It ships inside scikit-learn, so the template trains offline on a fresh machine; patient measurements are
exactly the kind of data that may not leave a hospital. The export is deterministic, so its DVC hash is the
one committed in data.dvc and a fresh clone can re-create the data instead of downloading it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.atomic import atomic_write_text
from ml.steps.schema import FEATURES, LABEL

EXAMPLE_FILE = "breast_cancer.csv"


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
