"""The shape the training data must have: edit it when you bring your own data.

`prepare` checks every raw file against it before anything is trained, so bad data fails with the file and
the problem named instead of a NumPy error three steps later.
"""

from __future__ import annotations

LABEL = "malignant"
"""1 when the tumour is malignant: the positive class, the one we must not miss."""

LABEL_VALUES = frozenset({0, 1})

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
"""Numeric measurements of a cell nucleus image (Wisconsin diagnostic breast cancer data), in file order."""
