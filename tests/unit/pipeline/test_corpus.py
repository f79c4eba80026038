"""The corpus of broken pipelines and components: each file holds one mistake and names it.

The first line of each file says what `edge-train pipeline validate` must report (`# expect: <text>`);
files under `valid/` must pass. Every run happens under the autouse socket guard, so it proves offline too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.cli import app, run_app

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = REPO_ROOT / "tests" / "corpus" / "pipelines"
BROKEN = sorted(p for p in CORPUS.rglob("*.yml") if "valid" not in p.relative_to(CORPUS).parts)
VALID = sorted((CORPUS / "valid").glob("*.yml"))


def expectation(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path} must start with '# expect: <message>'"
    return first.removeprefix("# expect: ")


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run_app(app, ["pipeline", "validate", "--no-cache", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_TRAIN_ROOT", str(REPO_ROOT))


def test_the_corpus_holds_at_least_25_broken_files() -> None:
    assert len(BROKEN) >= 25


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_a_broken_file_fails_naming_its_mistake(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = validate(path, capsys)
    assert code != 0
    assert expectation(path) in output
    assert "Traceback" not in output


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_a_valid_file_passes(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert expectation(path) == "valid"
    code, output = validate(path, capsys)
    assert code == 0, output


def test_findings_name_file_line_key_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "unknown_node_input.yml"
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "colour:" in text)
    _, output = validate(path, capsys)
    assert f"{path}:{line}: jobs.train.inputs.colour:" in output
    inputs = "prepared, estimator, C, max_iter, solver, n_estimators, max_depth, seed"
    assert f"(fix: use one of the component's inputs: {inputs})" in output


def test_the_repository_pipeline_and_components_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_app(app, ["pipeline", "validate"])
    assert code == 0, capsys.readouterr().err
