"""Each component's edge command agrees with what `edge-train pipeline compile` makes of the same node.

The node runner's arguments repeat a few names the compile derives (the stage, the params keys, the local
paths of outputs): a node whose command drifted would run the wrong stage or copy the wrong file, on the edge
only. This checks every node of pipelines/train.yml against the compile's own mapping.
"""

from __future__ import annotations

import re

import pytest
import yaml

from ml.pipeline.compile import _output_paths, _param_key
from ml.pipeline.graph import LOCAL_OUTPUT_TAG, bindings, read_pipeline
from tests.conftest import REPO_ROOT

PIPELINE = read_pipeline(REPO_ROOT / "pipelines" / "train.yml")
PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
LOCAL = _output_paths(PIPELINE)
ARG = re.compile(r"--(param|cloud-out|data-in|pointer-in|pointer-out)\s+(\S+)")


@pytest.mark.parametrize("name", sorted(PIPELINE.nodes))
def test_the_edge_command_names_the_nodes_stage_params_and_paths(name: str) -> None:
    node = PIPELINE.nodes[name]
    component = node.component
    assert component is not None
    words = component.command.split()
    assert words[:3] == ["python", "-m", "ml.edge.node"]
    assert words[3] == ("data.dvc" if LOCAL_OUTPUT_TAG in component.tags else name)
    for flag, value in ARG.findall(component.command):
        target, _, bound = value.rpartition("=") if "=" in value else ("", "", value)
        (expr,) = bindings(bound)
        kind, _, port = expr.partition(".")
        if flag == "param":
            parent = bindings(node.inputs[port])[0].removeprefix("parent.inputs.")
            assert target == _param_key(parent, PARAMS), f"{name}: --param {value}"
        elif flag == "cloud-out":
            assert kind == "outputs" and target == LOCAL[(name, port)], f"{name}: --cloud-out {value}"
        elif flag == "data-in":
            _, _, upstream, _, output = bindings(node.inputs[port])[0].split(".")
            assert target == LOCAL[(upstream, output)], f"{name}: --data-in {value}"
        elif flag == "pointer-in":
            _, _, upstream, _, output = bindings(node.inputs[port])[0].split(".")
            upstream_tags = PIPELINE.nodes[upstream].component.tags
            assert upstream_tags.get(f"edge_train.outputs.{output}.no_raw_data"), f"{name}: {value}"
        else:
            assert component.output_tag(port, "no_raw_data"), f"{name}: pointer output {port} not rowless"
