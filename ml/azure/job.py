"""Build the Azure ML pipeline job from the same `pipelines/*.yml` the local compile reads.

Only overrides are applied on top of the YAML, never a second definition: hyperparameter inputs from
params.yaml (`<section>_<key>`), the compute and experiment from edge-train.toml, lineage tags, the outputs
that may leave the premises (model, metrics, plots, the portable model with its parity report) promoted to
pipeline outputs so that `submit` can download them, and each node's environment variables
(`node_environment`: names of the remote, vault and secret, never a secret). Every other output must be
written to the edge datastore, unless its component declares it holds no rows
(`edge_train.outputs.<o>.no_raw_data`, e.g. the nodes' DVC pointers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.config import Settings
from ml.errors import EdgeTrainError
from ml.lineage import data_hash, git_commit
from ml.params import load_params, params_hash, split_input_name
from ml.paths import METRICS_FILE, MODEL_DIR, PLOTS_DIR, PORTABLE_DIR
from ml.pipeline.residency import check_job

if TYPE_CHECKING:
    from azure.ai.ml.entities import PipelineJob


@dataclass(frozen=True)
class ReturnedOutput:
    """A node output that may leave the premises, and where a local run writes the same thing."""

    node: str
    output: str
    type: str
    local_path: str


# Aggregates and the model (also as ONNX, with its parity report) only: the residency rule allows nothing else
# off the edge datastore.
# The model comes back as a plain folder (it holds the MLflow model files): azure-ai-ml 1.35.2 cannot download
# an `mlflow_model` output (`jobs.download` raises TypeError building its model-URI request), while folders
# download through the data path. The train step's own output stays `mlflow_model`.
RETURNED = {
    "model": ReturnedOutput("train", "model", "uri_folder", MODEL_DIR),
    "metrics": ReturnedOutput("evaluate", "metrics", "uri_file", METRICS_FILE),
    "plots": ReturnedOutput("evaluate", "plots", "uri_folder", PLOTS_DIR),
    "portable": ReturnedOutput("export", "portable", "uri_folder", PORTABLE_DIR),
}


def pipeline_inputs(root: Path, declared: list[str], pipeline_file: Path) -> dict[str, Any]:
    """Values for the pipeline's `<section>_<key>` inputs, taken from params.yaml."""
    params = load_params(root).model_dump(exclude={"gate"})
    values: dict[str, Any] = {}
    for name in declared:
        found = split_input_name(name, params)
        if found is None:
            section, _, key = name.partition("_")
            known = ", ".join(f"{s}_{k}" for s, keys in params.items() for k in keys)
            raise EdgeTrainError(
                f"{pipeline_file}: inputs.{name}: no params.yaml value {section}.{key} to fill it with",
                hint=f"name pipeline inputs <params section>_<key> (known: {known}), or add {section}.{key} "
                "to params.yaml and ml/steps/params.py",
            )
        values[name] = params[found[0]][found[1]]
    return values


def lineage_tags(root: Path, pipeline_file: Path) -> dict[str, str]:
    return {
        "edge_train.git_commit": git_commit(root),
        "edge_train.data_hash": data_hash(root),
        "edge_train.params_hash": params_hash(root),
        "edge_train.pipeline": pipeline_file.relative_to(root).as_posix(),
    }


def _load(pipeline_file: Path, overrides: list[dict[str, Any]]) -> PipelineJob:
    from azure.ai.ml import load_job
    from azure.ai.ml.entities import PipelineJob

    try:
        job = load_job(pipeline_file, params_override=overrides)
    except Exception as exc:  # the SDK raises many types (marshmallow, ValidationException, YAML errors)
        raise EdgeTrainError(
            f"{pipeline_file}: azure-ai-ml cannot load it: {exc}".splitlines()[0],
            hint="fix the YAML (`edge-train pipeline validate` names the key)",
        ) from None
    if not isinstance(job, PipelineJob):
        raise EdgeTrainError(
            f"{pipeline_file}: type is {job.type!r}, expected pipeline",
            hint="submit a pipeline YAML such as pipelines/train.yml",
        )
    return job


def build_pipeline_job(root: Path, settings: Settings, pipeline_file: Path) -> PipelineJob:
    """The job `submit` sends: the YAML plus params, compute, experiment, tags and returned outputs."""
    import yaml

    pipeline_file = pipeline_file if pipeline_file.is_absolute() else root / pipeline_file
    if not pipeline_file.is_file():
        raise EdgeTrainError(
            f"{pipeline_file}: file not found", hint="pass a pipeline YAML, e.g. pipelines/train.yml"
        )
    declared = list((yaml.safe_load(pipeline_file.read_text(encoding="utf-8")) or {}).get("inputs") or {})
    overrides: list[dict[str, Any]] = [
        {f"inputs.{name}": value} for name, value in pipeline_inputs(root, declared, pipeline_file).items()
    ]
    overrides += [
        {"settings.default_compute": f"azureml:{settings.azure.compute}"},
        {"experiment_name": settings.model.name},
        {"tags": lineage_tags(root, pipeline_file)},
        {"outputs": {name: {"type": out.type} for name, out in RETURNED.items()}},
    ]
    overrides += [
        {f"jobs.{out.node}.outputs.{out.output}": f"${{{{parent.outputs.{name}}}}}"}
        for name, out in RETURNED.items()
    ]
    job = _load(pipeline_file, overrides)
    for node in job.jobs.values():
        node.environment_variables = {**(node.environment_variables or {}), **node_environment(settings)}
    check_job(job, settings.azure.edge_datastore, pipeline_file)  # the one residency rule validate applies
    return job


def node_environment(settings: Settings) -> dict[str, str]:
    """What `ml.edge.node` reads in the pod (ml/edge/__init__.py): where the data and its credential live."""
    from ml.edge.credential import ENV_SECRET_NAME, ENV_VAULT_URL
    from ml.edge.node import ENV_REMOTE
    from ml.storage.pin import ENV_API_VERSION, ENV_CA_BUNDLE

    env = {
        ENV_REMOTE: settings.storage.remote,
        ENV_API_VERSION: settings.storage.api_version,
        ENV_VAULT_URL: settings.azure.key_vault_url,
        ENV_SECRET_NAME: settings.azure.storage_secret if settings.azure.key_vault_url else "",
    }
    if settings.storage.ca_bundle:
        env[ENV_CA_BUNDLE] = settings.storage.ca_bundle
    return {key: value for key, value in env.items() if value}
