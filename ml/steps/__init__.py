"""The model: the part of the template a forker edits.

Each step is a plain function plus a thin `main` that reads its arguments, so DVC runs it locally and Azure ML
runs it on the edge compute with the same command. Hyperparameters are declared in `params.py`, the data's
shape in `schema.yaml` (written by `edge-train init --data`, read through `schema.py`).
"""

WARM_IMPORTS = (
    "numpy",
    "pandas",
    "pyarrow.csv",
    "pyarrow.parquet",
    "sklearn.model_selection",
    "sklearn.compose",
    "sklearn.impute",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.linear_model",
    "sklearn.ensemble",
    "sklearn.metrics",
    "skops.io",
    "skl2onnx",
    "onnxruntime",
    "typer",
)
"""The libraries the steps import: `edge-train run` imports them once, in a server each step is forked from
(ml/warm). A speed hint only: add the library a new estimator needs; a missing name costs a step its import,
never a result. Libraries only: a module that looks at the terminal when imported would look at the server's.
"""
