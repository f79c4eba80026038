"""The model: the part of the template a forker edits.

Each step is a plain function plus a thin `main` that reads its arguments, so DVC runs it locally and Azure ML
runs it on the edge compute with the same command. Hyperparameters are declared in `params.py`, the data's
shape in `schema.yaml` (written by `edge-train init --data`, read through `schema.py`).
"""
