"""The step graph: Azure ML pipeline + component YAML, validated offline and compiled into dvc.yaml.

`pipelines/*.yml` and `components/*.yml` are the single source of truth for the steps; `dvc.yaml` is their
local compilation, so `dvc repro` runs the commands Azure ML runs on the edge compute.
"""
