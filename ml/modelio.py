"""Save and load the model in MLflow format, with a signature and a synthetic (never real) input example."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from ml.steps.schema import FEATURES


def synthetic_example(rows: int = 2) -> pd.DataFrame:
    """Rows of the right columns and dtypes whose values are made up, so the model stores no patient."""
    return pd.DataFrame([[float(i + 1)] * len(FEATURES) for i in range(rows)], columns=list(FEATURES))


def save_mlflow_model(model, path: Path) -> None:
    """Save `model` to `path` (replaced if present) as an MLflow sklearn model.

    `pip_requirements` is given explicitly: inferring it imports the model in a subprocess and costs ~20 s.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature

    example = synthetic_example()
    signature = infer_signature(example, model.predict_proba(example))
    if path.exists():
        shutil.rmtree(path)
    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=signature,
        input_example=example,
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}", "skops"],
    )


def load_native_model(path: Path):
    import mlflow.sklearn

    return mlflow.sklearn.load_model(str(path))
