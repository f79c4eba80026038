"""On a fresh clone the data is re-created only when it is the example data; other data needs its remote."""

import subprocess

import pytest
import yaml

from tests.integration.clone import edge_train, fresh_clone

pytestmark = pytest.mark.integration


def test_a_data_dvc_that_is_not_the_example_fails_with_what_to_configure(tmp_path):
    root = fresh_clone(tmp_path / "repo")
    record = yaml.safe_load((root / "data.dvc").read_text())
    record["outs"][0]["md5"] = "0" * 32 + ".dir"
    (root / "data.dvc").write_text(yaml.safe_dump(record))
    before = (root / "data.dvc").read_text()
    result = edge_train(root, "data", "restore")
    assert result.returncode == 1
    assert "records data that is not in the DVC remote, and it is not the example data" in result.stderr
    assert "edge-train data remote set" in result.stderr
    assert (root / "data.dvc").read_text() == before, "a failed restore must not rewrite data.dvc"
    assert not (root / "data").exists(), "nor leave the wrong data behind"
    assert subprocess.run(
        ["git", "status", "--porcelain", "--", "data.dvc"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.startswith(" M")
