"""The example loader knows its own columns and writes them only while the schema is the example's: a fork
that brought its own table gets "data not in the remote", not a renamed breast-cancer table."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ml.data.example import export_example, is_example_schema
from ml.data.restore import seed_example
from ml.errors import EdgeTrainError
from ml.steps.schema import load_schema
from tests.conftest import REPO_ROOT
from tests.harness.schemas import SCHEMAS, use_schema


def test_the_schema_is_the_examples_exactly_while_data_dvc_records_the_example(tmp_path: Path) -> None:
    """The template's schema describes the example; a fork's, written by `init --data`, its own table."""
    exported = export_example(tmp_path).stat().st_size
    recorded = yaml.safe_load((REPO_ROOT / "data.dvc").read_text())["outs"][0]
    assert is_example_schema(load_schema()) == (recorded["nfiles"] == 1 and recorded["size"] == exported)


@pytest.mark.parametrize("task", sorted(SCHEMAS))
def test_a_fork_schema_is_not(task: str) -> None:
    assert not is_example_schema(SCHEMAS[task])


def test_a_fork_without_its_data_in_the_remote_is_told_so_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_schema(monkeypatch, tmp_path, SCHEMAS["multiclass"])
    (tmp_path / "data.dvc").write_text("outs:\n- md5: 0123.dir\n  path: data\n")
    with pytest.raises(EdgeTrainError, match="records data that is not in the DVC remote") as error:
        seed_example(repo=None, root=tmp_path, pull_error="missing cache files")
    assert "dvc pull" in error.value.hint
    assert not (tmp_path / "data").exists()
