"""Synthetic data with the schema of the real data, for benchmarks and tests at any size.

Each class is drawn from a normal distribution with the per-feature mean and spread of the example data, so
models learn something realistic while no real row is ever copied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.steps.schema import FEATURES, LABEL


def synthetic_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    from ml.data.example import example_frame

    reference = example_frame()
    rng = np.random.default_rng(seed)
    labels = rng.binomial(1, float(reference[LABEL].mean()), size=rows)
    values = np.empty((rows, len(FEATURES)))
    for label in (0, 1):
        subset = reference[reference[LABEL] == label][list(FEATURES)]
        mask = labels == label
        draws = rng.normal(
            subset.mean().to_numpy(), subset.std().to_numpy(), size=(int(mask.sum()), len(FEATURES))
        )
        values[mask] = np.abs(draws)
    frame = pd.DataFrame(values.round(5), columns=list(FEATURES))
    frame[LABEL] = labels.astype("int64")
    return frame
