"""The pipeline's nodes in the order Azure ML runs them, with each input's binding as the SDK holds it.

Bindings are read from the loaded `PipelineJob` (after `submit`'s overrides), not from the YAML: a node input
is a literal, `${{parent.inputs.NAME}}` (the pipeline input's value) or `${{parent.jobs.NODE.outputs.NAME}}`
(an upstream output, which also orders the graph). Binding expressions are parsed with the SDK's own
`get_all_data_binding_expressions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GraphError(RuntimeError):
    """The job cannot be emulated as written (an unknown binding, a cycle, a node type we do not run)."""


@dataclass(frozen=True)
class Upstream:
    """An input bound to another node's output."""

    node: str
    output: str


@dataclass(frozen=True)
class OutputSpec:
    """Where and how an output is written: its type, delivery mode (Azure ML's default: rw_mount), path."""

    type: str
    mode: str = "rw_mount"
    path: str | None = None  # azureml://datastores/... or None for the workspace's default datastore


@dataclass
class Node:
    """One command node: its component and its inputs resolved to literals or upstream outputs."""

    name: str
    component: Any  # azure.ai.ml.entities.CommandComponent
    inputs: dict[str, Any] = field(default_factory=dict)  # name -> literal value | Upstream | Input entity
    input_types: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, OutputSpec] = field(default_factory=dict)
    environment_variables: dict[str, str] = field(default_factory=dict)

    @property
    def upstream(self) -> set[str]:
        return {value.node for value in self.inputs.values() if isinstance(value, Upstream)}


def _binding(value: Any, prefix: list[str]) -> str | None:
    from azure.ai.ml._utils.utils import get_all_data_binding_expressions

    found = get_all_data_binding_expressions(value, prefix, is_singular=True)
    return found[0] if found else None


def _pipeline_input_value(job: Any, name: str, node: str) -> Any:
    if name not in job.inputs:
        raise GraphError(f"jobs.{node}: binds ${{{{parent.inputs.{name}}}}}, not a pipeline input")
    value = job.inputs[name]._data
    return getattr(value, "path", value) if not isinstance(value, str | int | float | bool) else value


def _resolve_input(job: Any, node_name: str, raw: Any) -> Any:
    """A node input as the service sees it: an upstream output, a pipeline input's value, or the literal."""
    data = getattr(raw, "_data", raw)
    upstream = _binding(data, ["parent", "jobs"])
    if upstream:
        parts = upstream.split(".")  # parent.jobs.NODE.outputs.NAME
        if len(parts) != 5 or parts[3] != "outputs":
            raise GraphError(f"jobs.{node_name}: unsupported binding ${{{{{upstream}}}}}")
        return Upstream(parts[2], parts[4])
    parent_input = _binding(data, ["parent", "inputs"])
    if parent_input:
        return _pipeline_input_value(job, parent_input.split(".", 2)[2], node_name)
    return data


def _output(job: Any, bound: Any, declared_type: str) -> OutputSpec:
    """The node output's mode and path, following a `${{parent.outputs.X}}` binding to the pipeline output."""
    source = bound
    parent = _binding(getattr(bound, "_data", None), ["parent", "outputs"])
    if parent:
        source = job.outputs.get(parent.split(".", 2)[2])
    mode = getattr(source, "mode", None) or "rw_mount"
    path = getattr(source, "path", None)
    return OutputSpec(type=declared_type, mode=str(mode), path=str(path) if path else None)


def load_nodes(job: Any) -> list[Node]:
    """The job's command nodes, upstream first (the order Azure ML may run them; ties by name)."""
    nodes: dict[str, Node] = {}
    for name, step in job.jobs.items():
        component = step.component
        if getattr(step, "type", None) != "command" or isinstance(component, str):
            raise GraphError(f"jobs.{name}: only command nodes with a local component are emulated")
        node = Node(name=name, component=component)
        for input_name, spec in (component.inputs or {}).items():
            node.input_types[input_name] = spec.type
            bound = step.inputs.get(input_name)
            data = getattr(bound, "_data", None) if bound is not None else None
            if data is None:
                default = getattr(spec, "default", None)
                if default is not None:
                    node.inputs[input_name] = default
                continue
            node.inputs[input_name] = _resolve_input(job, name, bound)
        for output_name, spec in (component.outputs or {}).items():
            node.outputs[output_name] = _output(job, step.outputs.get(output_name), spec.type)
        node.environment_variables = {
            **{k: str(v) for k, v in (getattr(component, "environment_variables", None) or {}).items()},
            **{k: str(v) for k, v in (step.environment_variables or {}).items()},
        }
        nodes[name] = node
    for node in nodes.values():
        for input_name, value in node.inputs.items():
            if isinstance(value, Upstream) and (
                value.node not in nodes or value.output not in nodes[value.node].outputs
            ):
                raise GraphError(
                    f"jobs.{node.name}.inputs.{input_name}: binds {value.node}.outputs.{value.output}, "
                    "which does not exist"
                )
    return _topological(nodes)


def _topological(nodes: dict[str, Node]) -> list[Node]:
    ordered: list[Node] = []
    done: set[str] = set()
    while len(done) < len(nodes):
        ready = sorted(n for n in nodes if n not in done and nodes[n].upstream <= done)
        if not ready:
            raise GraphError(f"the jobs form a cycle: {sorted(set(nodes) - done)}")
        for name in ready:
            ordered.append(nodes[name])
            done.add(name)
    return ordered
