"""The job `edge-train submit` sends: pipelines/train.yml plus params, compute, tags and returned outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ml.azure.job import RETURNED, build_pipeline_job
from ml.config import Settings
from ml.errors import EdgeTrainError

PIPELINE = Path("pipelines/train.yml")


def rest(job) -> dict:
    return job._to_rest_object().as_dict()["properties"]


def test_hyperparameters_come_from_params_yaml(clone: Path, settings: Settings) -> None:
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["train"]["C"] = 0.25
    (clone / "params.yaml").write_text(yaml.safe_dump(params))

    inputs = rest(build_pipeline_job(clone, settings, PIPELINE))["inputs"]

    assert inputs["train_C"]["value"] == "0.25"
    assert inputs["prepare_seed"]["value"] == "42"
    assert inputs["train_solver"]["value"] == "lbfgs"


def test_compute_experiment_and_lineage_tags_come_from_settings_and_git(
    clone: Path, settings: Settings
) -> None:
    body = rest(build_pipeline_job(clone, settings, PIPELINE))

    assert body["settings"]["default_compute"] == "ash-k3s"
    assert body["experimentName"] == "breast-cancer-classifier"
    assert len(body["tags"]["edge_train.git_commit"]) == 40
    assert body["tags"]["edge_train.data_hash"] == yaml.safe_load((clone / "data.dvc").read_text())["outs"][
        0
    ]["md5"].removesuffix(".dir")
    assert len(body["tags"]["edge_train.params_hash"]) == 16


def test_only_model_metrics_plots_and_the_portable_model_are_returned_and_nodes_hand_on_pointers(
    clone: Path, settings: Settings
) -> None:
    job = build_pipeline_job(clone, settings, PIPELINE)
    body = rest(job)

    assert set(body["outputs"]) == set(RETURNED) == {"model", "metrics", "plots", "portable"}
    assert body["jobs"]["evaluate"]["outputs"]["metrics"]["value"] == "${{parent.outputs.metrics}}"
    assert body["jobs"]["train"]["outputs"]["model"]["value"] == "${{parent.outputs.model}}"
    assert body["jobs"]["export"]["outputs"]["portable"]["value"] == "${{parent.outputs.portable}}"
    # The export node reads the held-out rows by the prepare pointer, on the edge; only its report and the
    # ONNX model leave, which its component declares rowless.
    assert job.jobs["export"].component.tags["edge_train.outputs.portable.no_raw_data"]
    # Azure ML's data runtime never touches ASH: no node output is mounted on a datastore, and what the data
    # nodes hand on are DVC pointers that their components declare rowless.
    assert "ash_blob" not in str(body["jobs"])
    for node, output in (("fetch_data", "raw_data"), ("prepare", "prepared")):
        assert job.jobs[node].component.tags[f"edge_train.outputs.{output}.no_raw_data"]
        assert job.jobs[node].component.command.startswith("python -m ml.edge.node ")


def test_each_node_gets_the_names_of_remote_vault_and_secret_but_no_secret(
    clone: Path, settings: Settings
) -> None:
    settings.azure.key_vault_url = "https://kv-edge.vault.azure.net"
    settings.storage.ca_bundle = "certs/ash-ca.pem"

    for node in build_pipeline_job(clone, settings, PIPELINE).jobs.values():
        assert node.environment_variables == {
            "EDGE_TRAIN_DVC_REMOTE": "ash",
            "EDGE_TRAIN_STORAGE_API_VERSION": "2019-07-07",
            "EDGE_TRAIN_STORAGE_CA_BUNDLE": "certs/ash-ca.pem",
            "EDGE_TRAIN_KEY_VAULT_URL": "https://kv-edge.vault.azure.net",
            "EDGE_TRAIN_STORAGE_SECRET": "edge-train-storage",
        }


def test_every_step_runs_in_the_yaml_environment(clone: Path, settings: Settings) -> None:
    job = build_pipeline_job(clone, settings, PIPELINE)

    for node in job.jobs.values():
        assert node.component.environment.image.startswith("mcr.microsoft.com/azureml/")
        assert node.component.environment.conda_file is not None


def test_instance_count_and_distribution_pass_through_to_the_compute(clone: Path, settings: Settings) -> None:
    component = clone / "components" / "train.yml"
    spec = yaml.safe_load(component.read_text())
    spec["resources"] = {"instance_count": 3}
    spec["distribution"] = {"type": "pytorch", "process_count_per_instance": 2}
    component.write_text(yaml.safe_dump(spec, sort_keys=False))

    train = build_pipeline_job(clone, settings, PIPELINE).jobs["train"]

    assert train.component.resources.instance_count == 3
    assert train.component.distribution.process_count_per_instance == 2


def test_an_output_with_data_on_the_cloud_datastore_is_refused(clone: Path, settings: Settings) -> None:
    """An output whose component does not declare it rowless must be on the edge datastore."""
    component = clone / "components" / "prepare.yml"
    component.write_text(component.read_text().replace("edge_train.outputs.prepared.no_raw_data", "note"))
    pipeline = clone / PIPELINE
    pipeline.write_text(
        pipeline.read_text().replace(
            "      seed: ${{parent.inputs.prepare_seed}}\n",
            "      seed: ${{parent.inputs.prepare_seed}}\n    outputs:\n      prepared:\n"
            "        type: uri_folder\n        path: azureml://datastores/workspaceblobstore/paths/p\n",
        )
    )

    with pytest.raises(EdgeTrainError) as raised:
        build_pipeline_job(clone, settings, PIPELINE)

    assert "jobs.prepare.outputs.prepared" in raised.value.message
    assert "workspaceblobstore" in raised.value.message
    assert "azureml://datastores/ash_blob/" in raised.value.hint


def test_a_pipeline_input_without_a_params_value_names_file_key_and_fix(
    clone: Path, settings: Settings
) -> None:
    pipeline = clone / PIPELINE
    pipeline.write_text(
        pipeline.read_text().replace("  train_C: 1.0\n", "  train_C: 1.0\n  train_gamma: 2\n")
    )

    with pytest.raises(EdgeTrainError) as raised:
        build_pipeline_job(clone, settings, PIPELINE)

    assert "inputs.train_gamma" in raised.value.message and "train.gamma" in raised.value.message
    assert "params.yaml" in raised.value.hint
