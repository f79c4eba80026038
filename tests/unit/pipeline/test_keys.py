"""The key table validate checks against is azure-ai-ml's own, derived from its schemas, not a copy."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from ml.pipeline import keys, sdk_tables

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_the_stored_table_is_what_the_installed_sdk_declares_in_both_directions() -> None:
    stored, derived = sdk_tables.stored(), sdk_tables.derive()
    assert stored["azure-ai-ml"] == sdk_tables.sdk_version(), "run `python -m ml.pipeline.sdk_tables`"
    for level in derived:
        assert stored[level] == derived[level], f"{level}: run `python -m ml.pipeline.sdk_tables`"


def test_every_pipeline_node_type_and_component_type_of_the_sdk_is_known() -> None:
    assert {"command", "sweep", "parallel", "spark", "pipeline", "automl"} <= set(keys.NODES)
    assert {"command", "pipeline", "parallel", "spark", "promptflow_parallel"} <= set(keys.COMPONENTS)


@pytest.mark.parametrize("key", ["display_name", "description", "tags", "name"])
def test_node_keys_the_table_knows_are_kept_by_the_sdk(key: str, tmp_path: Path) -> None:
    from azure.ai.ml import load_job

    value = {"tags": {"owner": "me"}}.get(key, "a_value")
    assert all(key in node_keys for node_keys in keys.NODES.values())
    data = yaml.safe_load((REPO_ROOT / "pipelines" / "train.yml").read_text())
    data["jobs"]["train"][key] = value
    pipeline = _write_next_to_components(tmp_path, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = load_job(pipeline)
    assert job._validate().passed
    # A node's `name` is accepted, then replaced by its key under jobs: (the SDK names nodes by their key).
    assert getattr(job.jobs["train"], key) == ("train" if key == "name" else value)


def _write_next_to_components(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "components").symlink_to(REPO_ROOT / "components")
    pipeline = tmp_path / "pipelines" / "train.yml"
    pipeline.write_text(yaml.safe_dump(data, sort_keys=False))
    return pipeline


def test_a_close_misspelling_gets_a_suggestion() -> None:
    assert keys.suggestion("default_comptue", keys.SETTINGS) == "; did you mean 'default_compute'?"
    assert keys.suggestion("zzz", keys.SETTINGS) == ""


def test_another_installed_sdk_version_re_derives_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk_tables, "sdk_version", lambda: "99.0.0")
    monkeypatch.setattr(sdk_tables, "derive", lambda: {"azure-ai-ml": "99.0.0"})
    assert sdk_tables.current() == {"azure-ai-ml": "99.0.0"}


def test_without_the_sdk_installed_the_stored_table_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside an Azure ML job only the steps are installed; reading a component must still work."""
    monkeypatch.setattr(sdk_tables, "sdk_version", lambda: None)
    assert sdk_tables.current() == sdk_tables.stored()
