"""azure-ai-ml's verdict is cached by the bytes it read: unchanged files skip the SDK, any edit re-runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ml.pipeline import sdk
from ml.pipeline.findings import Finding
from ml.pipeline.loader import load_yaml

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def component(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "components", tmp_path / "components")
    return tmp_path / "components" / "train.yml"


@pytest.fixture
def sdk_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record SDK runs instead of importing azure-ai-ml: this test is about the cache around it."""
    calls: list[Path] = []

    def fake_run(doc, kind: str) -> list[Finding]:
        calls.append(doc.path)
        return [Finding(str(doc.path), 3, "name", "azure-ai-ml: example", sdk.FIX)]

    monkeypatch.setattr(sdk, "_run_sdk", fake_run)
    return calls


def test_unchanged_files_reuse_the_cached_findings(component: Path, tmp_path: Path, sdk_calls: list) -> None:
    cache = tmp_path / "cache"
    first = sdk.sdk_findings(load_yaml(component), "command", [], cache)
    second = sdk.sdk_findings(load_yaml(component), "command", [], cache)
    assert first == second
    assert len(sdk_calls) == 1


def test_editing_the_file_or_a_file_it_reads_runs_the_sdk_again(
    component: Path, tmp_path: Path, sdk_calls: list
) -> None:
    cache = tmp_path / "cache"
    other = component.with_name("prepare.yml")
    sdk.sdk_findings(load_yaml(component), "command", [other], cache)
    other.write_text(other.read_text() + "\n# edited\n")
    sdk.sdk_findings(load_yaml(component), "command", [other], cache)
    component.write_text(component.read_text() + "\n# edited\n")
    sdk.sdk_findings(load_yaml(component), "command", [other], cache)
    assert len(sdk_calls) == 3


def test_without_a_cache_dir_the_sdk_always_runs(component: Path, sdk_calls: list) -> None:
    sdk.sdk_findings(load_yaml(component), "command", [], None)
    sdk.sdk_findings(load_yaml(component), "command", [], None)
    assert len(sdk_calls) == 2
