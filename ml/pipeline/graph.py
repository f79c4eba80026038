"""The step graph read from Azure ML YAML: a pipeline's nodes, the components they run, and their bindings.

Parsing is lenient on purpose: it keeps whatever the files say, and `checks` reports every problem at once
with its line, instead of stopping at the first one as the SDK's loaders do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.pipeline.findings import Finding
from ml.pipeline.keys import FLOW, FLOW_OUTPUTS
from ml.pipeline.loader import YamlDoc, load_yaml

BINDING = re.compile(r"\$\{\{\s*([^{}]*?)\s*\}\}")
# Tags on a component that tell `compile` and `validate` about an output (see docs/pipeline.md).
LOCAL_OUTPUT_TAG = "edge_train.local_output"
OUTPUT_TAG_PREFIX = "edge_train.outputs."


def bindings(value: object) -> list[str]:
    """The `${{...}}` expressions in a value, e.g. `parent.inputs.train_C`; none for non-strings."""
    return BINDING.findall(value) if isinstance(value, str) else []


def is_binding(value: object) -> bool:
    """True when the whole value is one `${{...}}` expression (a binding, not a literal)."""
    return isinstance(value, str) and BINDING.fullmatch(value.strip()) is not None


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class Component:
    """A command component: its input and output specs, command and tags, plus where it was read from."""

    doc: YamlDoc
    key: tuple[str | int, ...] = ()  # where the definition sits in `doc` (inline components are nested)

    @property
    def data(self) -> dict[str, Any]:
        node: Any = self.doc.data
        for part in self.key:
            node = node[part]
        return _mapping(node)

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        return {name: _mapping(spec) for name, spec in _mapping(self.data.get("inputs")).items()}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        if self.kind == FLOW:
            return FLOW_OUTPUTS
        return {name: _mapping(spec) for name, spec in _mapping(self.data.get("outputs")).items()}

    @property
    def kind(self) -> str:
        """The component's `type`; prompt flow files (flow.dag.yaml, a run.yml) have none: `flow`."""
        kind = self.data.get("type")
        if isinstance(kind, str):
            return kind
        schema = str(self.data.get("$schema", "")).lower()
        return FLOW if self.doc.path.name.startswith("flow.dag.") or "promptflow" in schema else ""

    @property
    def command(self) -> str:
        command = self.data.get("command")
        return command if isinstance(command, str) else ""

    @property
    def tags(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in _mapping(self.data.get("tags")).items()}

    def output_tag(self, output: str, name: str) -> str | None:
        """The value of tag `edge_train.outputs.<output>.<name>`, if set."""
        return self.tags.get(f"{OUTPUT_TAG_PREFIX}{output}.{name}")

    def line(self, *key: str | int) -> int | None:
        return self.doc.line(*self.key, *key)


class _InputsOutputs:
    """`inputs` and `outputs` of a YAML mapping as it is written (bindings and literals, not specs)."""

    data: dict[str, Any]

    @property
    def inputs(self) -> dict[str, Any]:
        return _mapping(self.data.get("inputs"))

    @property
    def outputs(self) -> dict[str, Any]:
        return _mapping(self.data.get("outputs"))


@dataclass
class Node(_InputsOutputs):
    """One job of a pipeline and the component it runs (None when inline, a workspace reference or unread)."""

    name: str
    data: dict[str, Any]
    component: Component | None

    @property
    def kind(self) -> str:
        kind = self.data.get("type", "command")
        return kind if isinstance(kind, str) else ""

    def upstream(self) -> Iterator[tuple[str, str, str]]:
        """(input name, upstream node, upstream output) for each `${{parent.jobs.N.outputs.O}}` input."""
        for input_name, value in self.inputs.items():
            for expr in bindings(value):
                parts = expr.split(".")
                if len(parts) == 5 and parts[:2] == ["parent", "jobs"] and parts[3] == "outputs":
                    yield input_name, parts[2], parts[4]


@dataclass
class Pipeline(_InputsOutputs):
    doc: YamlDoc
    nodes: dict[str, Node]
    problems: list[Finding] = field(default_factory=list)  # components that could not be read

    @property
    def data(self) -> dict[str, Any]:  # type: ignore[override]
        return _mapping(self.doc.data)

    @property
    def settings(self) -> dict[str, Any]:
        return _mapping(self.data.get("settings"))

    @property
    def is_component(self) -> bool:
        """A pipeline component (run as a node by other pipelines), not a pipeline job."""
        return self.component_file or "pipelinecomponent" in str(self.data.get("$schema", "")).lower()

    component_file: bool = False  # read as the component of another pipeline's node


def read_pipeline(path: Path) -> Pipeline:
    """Read a pipeline and every component its nodes reference by local path or define inline."""
    return _pipeline(load_yaml(path))


def read_component_pipeline(component: Component) -> Pipeline:
    """The jobs of a pipeline component (`type: pipeline` component file or inline definition)."""
    if component.key:
        return _pipeline(YamlDoc(component.doc.path, component.data, {}), component_file=True)
    return _pipeline(component.doc, component_file=True)


def _pipeline(doc: YamlDoc, component_file: bool = False) -> Pipeline:
    nodes: dict[str, Node] = {}
    problems: list[Finding] = []
    for name, raw in _mapping(_mapping(doc.data).get("jobs")).items():
        data = _mapping(raw)
        field = "trial" if data.get("type") == "sweep" else "component"
        component, problem = _resolve_component(doc, str(name), field, data)
        if problem:
            problems.append(problem)
        nodes[str(name)] = Node(name=str(name), data=data, component=component)
    return Pipeline(doc=doc, nodes=nodes, problems=problems, component_file=component_file)


# Nodes that define their work themselves instead of naming a component (inline command, parallel task,
# spark entry, automl task, data transfer/import source).
INLINE_KEYS = ("command", "task", "entry", "source", "sink")


def _resolve_component(
    doc: YamlDoc, node: str, field: str, data: dict[str, Any]
) -> tuple[Component | None, Finding | None]:
    key = ("jobs", node, field)
    where = f"jobs.{node}.{field}"
    ref = data.get(field)
    if isinstance(ref, dict):
        return Component(doc=doc, key=key), None
    if ref is None and any(k in data for k in INLINE_KEYS):
        return None, None
    if not isinstance(ref, str) or not ref.strip():
        return None, Finding(
            str(doc.path),
            doc.line(*key),
            where,
            "no component given",
            f"set {field}: to a component YAML path, e.g. ../components/train.yml, or define the step inline",
        )
    if ref.startswith("azureml:"):
        return None, None  # a workspace reference: `references` checks its form, the workspace the rest
    file = (doc.path.parent / ref.removeprefix("file:")).resolve()
    if not file.is_file():
        return None, Finding(
            str(doc.path),
            doc.line(*key),
            where,
            f"component file {ref!r} does not exist",
            "correct the path; it is relative to the pipeline file",
        )
    return Component(doc=load_yaml(file)), None


def read_component(path: Path) -> Component:
    return Component(doc=load_yaml(path))


def topological_order(pipeline: Pipeline) -> tuple[list[str], list[str]]:
    """Nodes in dependency order (ties kept in YAML order), and the nodes left over because of a cycle."""
    # A job that consumes its own output lists itself, so it never becomes ready: a cycle of one.
    pending = {
        name: {up for _, up, _ in node.upstream() if up in pipeline.nodes}
        for name, node in pipeline.nodes.items()
    }
    order: list[str] = []
    while True:
        ready = [name for name, deps in pending.items() if not deps]
        if not ready:
            break
        for name in ready:
            order.append(name)
            del pending[name]
        for deps in pending.values():
            deps.difference_update(ready)
    return order, list(pending)
