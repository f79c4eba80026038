"""Every component and pipeline YAML loads and validates with azure-ai-ml's own offline checks."""

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

COMPONENTS = sorted((REPO_ROOT / "components").glob("*.yml"))
PIPELINES = sorted((REPO_ROOT / "pipelines").glob("*.yml"))


@pytest.mark.parametrize("path", COMPONENTS, ids=lambda p: p.name)
def test_component_loads_and_validates_offline(path: Path):
    from azure.ai.ml import load_component

    component = load_component(source=path)
    component._validate(raise_error=True)
    assert component.command and component.environment


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_pipeline_loads_and_validates_offline(path: Path):
    from azure.ai.ml import load_job

    job = load_job(source=path)
    job._validate(raise_error=True)
    assert job.settings.default_compute


def test_every_step_module_named_in_a_component_exists():
    for path in COMPONENTS:
        for word in path.read_text().split():
            if word.startswith("ml."):
                assert (REPO_ROOT / (word.replace(".", "/") + ".py")).is_file(), f"{path.name}: {word}"
