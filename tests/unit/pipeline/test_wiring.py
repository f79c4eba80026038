"""Wiring mistakes are refused by validate and by compile, and a refused compile leaves dvc.yaml as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ml.cli import app, run_app

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of what validate and compile read, so tests can break it."""
    for name in ("pipelines", "components", "ml/steps"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO_ROOT / name, tmp_path / name)
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run_app(app, list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("content", ["", "# nothing yet\n", "train: {}\n"])
def test_an_empty_or_keyless_params_yaml_is_refused_by_validate_and_compile(
    repo: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "params.yaml").write_text(content)
    before = (repo / "dvc.yaml").read_bytes()
    refusals = ("params.yaml has no hyperparameters", "params.yaml: the file is empty")
    code, output = cli("pipeline", "validate", "--no-sdk", "pipelines/train.yml", capsys=capsys)
    assert code != 0 and any(refusal in output for refusal in refusals), output
    code, output = cli("pipeline", "compile", capsys=capsys)
    assert code != 0 and any(refusal in output for refusal in refusals), output
    assert (repo / "dvc.yaml").read_bytes() == before


def test_compile_refuses_two_outputs_on_one_local_path_and_leaves_dvc_yaml(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = repo / "components" / "prepare.yml"
    tags.write_text(tags.read_text().replace("artifacts/prepared", "data/raw"))
    before = (repo / "dvc.yaml").read_bytes()
    code, output = cli("pipeline", "compile", capsys=capsys)
    assert code != 0
    assert "writes the local path 'data/raw', which fetch_data.raw_data writes too" in output
    assert "Traceback" not in output
    assert (repo / "dvc.yaml").read_bytes() == before


def test_a_data_input_sharing_a_params_section_prefix_is_not_a_hyperparameter(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = repo / "pipelines" / "train.yml"
    data = yaml.safe_load(pipeline.read_text())
    data["inputs"]["train_data"] = {"type": "uri_folder", "path": "azureml://datastores/ash_blob/paths/x"}
    pipeline.write_text(yaml.safe_dump(data, sort_keys=False))
    code, output = cli("pipeline", "validate", "--no-sdk", "pipelines/train.yml", capsys=capsys)
    assert code == 0, output


@pytest.mark.parametrize(
    ("default", "spec"),
    [("True", "string"), ('"False"', "boolean"), ("1e-3", "number"), ('"10.0"', "integer")],
)
def test_yaml_1_1_scalars_are_read_as_azure_ai_ml_reads_them(
    repo: Path, default: str, spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    component = repo / "components" / "train.yml"
    text = component.read_text().replace(
        "inputs:\n", f"inputs:\n  extra:\n    type: {spec}\n    default: {default}\n    optional: true\n", 1
    )
    component.write_text(
        text.replace(
            "--solver ${{inputs.solver}}", "--solver ${{inputs.solver}} $[[--extra ${{inputs.extra}}]]"
        )
    )
    code, output = cli("pipeline", "validate", "components/train.yml", capsys=capsys)
    assert code == 0, output
