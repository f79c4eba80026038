"""The residency rule: data that can hold rows never leaves Azure Stack Hub.

Azure ML writes pipeline outputs to the workspace's cloud blobstore unless told otherwise. An output whose
type can carry data (uri_folder, uri_file, mltable) must therefore be written to the edge datastore named in
edge-train.toml (`[azure] edge_datastore`), or its component must declare that it holds no raw data with the
tag `edge_train.outputs.<output>.no_raw_data: <why>` (evaluate's metrics and plots are aggregates). Models and
metrics may go to the workspace: that is the pattern's point.
"""

from __future__ import annotations

from typing import Any

from ml.pipeline.findings import Finding
from ml.pipeline.graph import Node, Pipeline, bindings
from ml.pipeline.keys import DATA_TYPES

RULE = (
    "residency rule: outputs that can carry data (uri_folder, uri_file, mltable) must be written to the "
    "edge datastore {edge!r}, because Azure ML writes outputs to the workspace's cloud blobstore by default; "
    "only models and metrics may leave"
)


def _output_path(pipeline: Pipeline, value: Any) -> str | None:
    """Where an output is written, following `${{parent.outputs.x}}` to the pipeline output."""
    path = value.get("path") if isinstance(value, dict) else value
    for expr in bindings(path):
        if expr.startswith("parent.outputs."):
            target = pipeline.outputs.get(expr.removeprefix("parent.outputs."))
            return target.get("path") if isinstance(target, dict) else None
    return path if isinstance(path, str) else None


def _on_edge(path: str | None, pipeline: Pipeline, edge: str) -> bool:
    if path is None:
        default = str(pipeline.settings.get("default_datastore", ""))
        return default.removeprefix("azureml:") == edge
    return path.startswith(f"azureml://datastores/{edge}/")


def check_residency(pipeline: Pipeline, edge_datastore: str) -> list[Finding]:
    """One error per data-carrying output that would be written outside the edge datastore."""
    findings = []
    for node in pipeline.nodes.values():
        findings += _check_node(pipeline, node, edge_datastore)
    return findings


def _check_node(pipeline: Pipeline, node: Node, edge: str) -> list[Finding]:
    if node.component is None:
        return []
    findings = []
    for name, spec in node.component.outputs.items():
        value = node.outputs.get(name)
        kind = (value.get("type") if isinstance(value, dict) else None) or spec.get("type", "uri_folder")
        if kind not in DATA_TYPES or node.component.output_tag(name, "no_raw_data"):
            continue
        path = _output_path(pipeline, value)
        if _on_edge(path, pipeline, edge):
            continue
        where = f"{path!r}" if path else "the workspace's default datastore (no path: given)"
        findings.append(
            Finding(
                str(pipeline.doc.path),
                pipeline.doc.line("jobs", node.name, "outputs", name) or pipeline.doc.line("jobs", node.name),
                f"jobs.{node.name}.outputs.{name}",
                f"{kind} output would be written to {where}; {RULE.format(edge=edge)}",
                f"set path: azureml://datastores/{edge}/paths/<folder>/${{{{name}}}}/{name}, or if it holds "
                f"only aggregates tag the component with edge_train.outputs.{name}.no_raw_data: <why>",
            )
        )
    return findings
