"""The job environment is what azure-ai-ml serialises: exact pins, no paths, the MLflow plugin, one image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ml.azure import environment
from tests.conftest import REPO_ROOT

COMPONENTS = sorted((REPO_ROOT / "components").glob("*.yml"))
EXACT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+$")
# An MLflow server, plotting: never needed by a step in the job (they would only slow every image build).
NOT_IN_THE_JOB = {"mlflow", "flask", "gunicorn", "matplotlib", "sqlalchemy", "alembic", "azure-ai-ml"}


def serialized_problems(conda_file: dict) -> list[str]:
    """What in the serialised conda spec could not build in an empty directory, or is not pinned."""
    problems = []
    for entry in conda_file.get("dependencies", []):
        items = entry.get("pip", []) if isinstance(entry, dict) else []
        if isinstance(entry, str) and not re.match(r"^[a-z0-9_-]+=[0-9][0-9.]*$", entry):
            problems.append(f"conda entry not pinned exactly: {entry}")
        for item in items:
            if item.startswith(("-r", "-e", "-c", ".", "/", "--")) or "/" in item or not EXACT.match(item):
                problems.append(f"pip entry is a path, an option or not pinned exactly: {item}")
    return problems


@pytest.mark.parametrize("path", COMPONENTS, ids=lambda p: p.name)
def test_the_serialized_environment_is_self_contained_and_pinned(path: Path):
    from azure.ai.ml import load_component

    env = load_component(source=path).environment
    assert env.image == environment.BASE_IMAGE
    assert not env.image.endswith(":latest")
    assert serialized_problems(env.conda_file) == []
    pip = next(e["pip"] for e in env.conda_file["dependencies"] if isinstance(e, dict))
    names = {item.split("==")[0] for item in pip}
    assert "azureml-mlflow" in names, "MLFLOW_TRACKING_URI=azureml://... needs the plugin in the job"
    assert not names & NOT_IN_THE_JOB


def test_the_old_spec_with_paths_is_refused():
    old = {
        "dependencies": [
            "python=3.11",
            "pip",
            {"pip": ["-r ../../requirements.lock", "--no-deps", "-e ../.."]},
        ]
    }
    assert len(serialized_problems(old)) == 4  # bare `pip`, and the three pip lines


def test_the_generated_files_match_the_job_lock():
    assert environment.drift(REPO_ROOT) == []


def test_a_hand_edit_of_the_conda_file_or_an_image_tag_is_drift(tmp_path: Path):
    for name in (environment.JOB_LOCK, environment.CONDA_FILE, "components/train.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((REPO_ROOT / name).read_text())
    assert environment.drift(tmp_path) == []
    conda = tmp_path / environment.CONDA_FILE
    conda.write_text(conda.read_text().replace("azureml-mlflow==", "azureml-mlflow>="))
    train = tmp_path / "components/train.yml"
    train.write_text(
        train.read_text().replace(environment.BASE_IMAGE, environment.BASE_IMAGE.split(":")[0] + ":latest")
    )
    assert len(environment.drift(tmp_path)) == 2
    assert environment.main(["--root", str(tmp_path)]) == 0
    assert environment.drift(tmp_path) == []


def test_the_job_lock_holds_the_versions_of_the_project_lock():
    """The edge trains with the local run's scikit-learn, pandas, numpy and MLflow, so results agree."""
    project = dict(
        environment.pins(
            "\n".join(
                line
                for line in (REPO_ROOT / environment.PROJECT_LOCK).read_text().splitlines()
                if "==" in line and ";" not in line
            )
        )
    )
    job = dict(environment.pins((REPO_ROOT / environment.JOB_LOCK).read_text()))
    for name in ("scikit-learn", "pandas", "mlflow-skinny", "dvc", "dvc-azure", "adlfs", "skops"):
        assert job[name] == project[name], name
