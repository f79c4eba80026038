"""Keys azure-ai-ml accepts on every node (`display_name`, `description`, `tags`, `name`) keep the pipeline
green end to end: validate, compile and a real `edge-train run` in a fresh clone."""

from __future__ import annotations

import pytest
import yaml

from tests.integration.clone import edge_train, fresh_clone

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_node_metadata_keeps_validate_compile_and_run_green(tmp_path) -> None:
    root = fresh_clone(tmp_path / "repo")
    pipeline = root / "pipelines" / "train.yml"
    data = yaml.safe_load(pipeline.read_text())
    for name, node in data["jobs"].items():
        node.update(
            display_name=f"The {name} step", description="what it does", tags={"team": "ml"}, name=name
        )
    pipeline.write_text(yaml.safe_dump(data, sort_keys=False))
    for command in (["pipeline", "validate"], ["pipeline", "compile"], ["run"]):
        result = edge_train(root, *command)
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
