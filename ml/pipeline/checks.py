"""The checks azure-ai-ml does not do offline (verified gaps, see DESIGN.md section 2).

Each check returns findings instead of raising, so one `validate` run lists every problem in every file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ml.paths import PARAMS_FILE
from ml.pipeline import keys, wiring
from ml.pipeline.findings import Finding
from ml.pipeline.graph import (
    LOCAL_OUTPUT_TAG,
    OUTPUT_TAG_PREFIX,
    Component,
    Pipeline,
    bindings,
    is_binding,
    read_component_pipeline,
    topological_order,
)
from ml.pipeline.values import literal_problem

OUTPUT_TAG_NAMES = frozenset({"local_path", "dvc", "no_raw_data"})
DVC_KINDS = frozenset({"out", "metrics", "plots"})


def _unknown_keys(
    where: Any, mapping: object, known: Mapping[str, Any], prefix: tuple[str | int, ...], what: str, line: Any
) -> list[Finding]:
    if not isinstance(mapping, dict):
        return []
    return [
        Finding(
            where,
            line(*prefix, key),
            ".".join(map(str, (*prefix, key))),
            f"unknown key in {what}: Azure ML ignores it or fails later{keys.suggestion(str(key), known)}",
            "correct the spelling or remove the key",
        )
        for key in mapping
        if key not in known
    ]


def check_component(component: Component) -> list[Finding]:
    """Keys, input specs and defaults, the command's placeholders, and the edge_train tags of a component.

    Prompt flow components (flow.dag.yaml, run.yml) are described in promptflow's own format: azure-ai-ml's
    verdict on them stands. A pipeline component's jobs are checked like a pipeline's.
    """
    path, line, data = str(component.doc.path), component.line, component.data
    prefix = component.key
    if component.kind == keys.FLOW:
        return []
    known = keys.COMPONENTS.get(component.kind)
    if known is None:
        return [
            Finding(
                path,
                line("type"),
                ".".join(map(str, (*prefix, "type"))),
                f"unknown component type {component.kind!r}"
                f"{keys.suggestion(component.kind, keys.COMPONENTS)}",
                f"use one of {', '.join(sorted(keys.COMPONENTS))}",
            )
        ]
    findings = _unknown_keys(path, data, known, prefix, f"a {component.kind} component", component.doc.line)
    for name, spec in component.inputs.items():
        findings += _unknown_keys(
            path,
            spec,
            keys.COMPONENT_INPUT,
            (*prefix, "inputs", name),
            "an input spec",
            component.doc.line,
        )
        findings += _check_type(path, line("inputs", name, "type"), f"inputs.{name}.type", spec)
        if "default" in spec and (problem := literal_problem(spec["default"], spec)):
            findings.append(
                Finding(
                    path,
                    line("inputs", name, "default"),
                    f"inputs.{name}.default",
                    f"the default {problem}",
                    "change the default or the input's spec",
                )
            )
    for name, spec in component.outputs.items():
        findings += _unknown_keys(
            path,
            spec,
            keys.COMPONENT_OUTPUT,
            (*prefix, "outputs", name),
            "an output spec",
            component.doc.line,
        )
        findings += _check_type(path, line("outputs", name, "type"), f"outputs.{name}.type", spec)
    if component.kind == "command":
        findings += _check_command(component)
    if component.kind == "pipeline":
        findings += check_pipeline(read_component_pipeline(component))
    findings += _check_tags(component)
    if LOCAL_OUTPUT_TAG in component.tags and len(component.outputs) != 1:
        findings.append(
            Finding(
                path,
                line("tags", LOCAL_OUTPUT_TAG),
                f"tags.{LOCAL_OUTPUT_TAG}",
                f"needs exactly one output to bind to the local path, found {len(component.outputs)}",
                "give the component one output, or remove the tag",
            )
        )
    return findings


def _check_type(path: str, line: int | None, key: str, spec: dict[str, Any]) -> list[Finding]:
    kind = spec.get("type")
    if kind is None or kind in keys.IO_TYPES:
        return []
    return [
        Finding(
            path,
            line,
            key,
            f"unknown type {kind!r}{keys.suggestion(str(kind), keys.IO_TYPES)}",
            f"use one of {', '.join(sorted(keys.IO_TYPES))}",
        )
    ]


def _check_command(component: Component) -> list[Finding]:
    path, line = str(component.doc.path), component.line("command")
    if not component.command:
        return [
            Finding(
                path,
                line,
                "command",
                "the component has no command",
                "add command: with the step's command line",
            )
        ]
    findings = []
    used: dict[str, set[str]] = {"inputs": set(), "outputs": set()}
    for expr in bindings(component.command):
        kind, _, name = expr.partition(".")
        declared = component.inputs if kind == "inputs" else component.outputs if kind == "outputs" else None
        if declared is None:
            findings.append(
                Finding(
                    path,
                    line,
                    "command",
                    f"${{{{{expr}}}}} is not an input or output",
                    "use ${{inputs.<name>}} or ${{outputs.<name>}}",
                )
            )
        elif name not in declared:
            findings.append(
                Finding(
                    path,
                    line,
                    "command",
                    f"${{{{{expr}}}}} refers to {kind[:-1]} {name!r}, which is not declared"
                    f"{keys.suggestion(name, list(declared))}",
                    f"declare it under {kind}: or correct the name",
                )
            )
        else:
            used[kind].add(name)
    for name in component.outputs:
        if name not in used["outputs"]:
            findings.append(
                Finding(
                    path,
                    component.line("outputs", name),
                    f"outputs.{name}",
                    "nobody produces this output: the command never receives ${{outputs." + name + "}}",
                    f"pass ${{{{outputs.{name}}}}} to the command, or remove the output",
                )
            )
    return findings


def _check_tags(component: Component) -> list[Finding]:
    path = str(component.doc.path)
    findings = []
    for tag, value in component.tags.items():
        if not tag.startswith(OUTPUT_TAG_PREFIX):
            continue
        output, _, name = tag.removeprefix(OUTPUT_TAG_PREFIX).partition(".")
        line = component.line("tags", tag)
        if output not in component.outputs:
            findings.append(
                Finding(
                    path,
                    line,
                    f"tags.{tag}",
                    f"output {output!r} is not declared{keys.suggestion(output, list(component.outputs))}",
                    "name a declared output in the tag",
                )
            )
        elif name.split(".")[0] not in OUTPUT_TAG_NAMES | {"plot"}:
            findings.append(
                Finding(
                    path,
                    line,
                    f"tags.{tag}",
                    f"unknown edge_train output tag {name!r}{keys.suggestion(name, OUTPUT_TAG_NAMES)}",
                    f"use one of {', '.join(sorted(OUTPUT_TAG_NAMES))} or plot.<file>",
                )
            )
        elif name.startswith("plot.") and not all("=" in part for part in value.split()):
            findings.append(
                Finding(
                    path,
                    line,
                    f"tags.{tag}",
                    f"{value!r} is not a list of key=value options",
                    "write the DVC plot options as e.g. `x=fpr y=tpr`",
                )
            )
        elif name == "dvc" and value not in DVC_KINDS:
            findings.append(
                Finding(
                    path,
                    line,
                    f"tags.{tag}",
                    f"{value!r} is not a DVC output kind",
                    f"use one of {', '.join(sorted(DVC_KINDS))}",
                )
            )
    return findings


def check_pipeline(pipeline: Pipeline, params: dict[str, Any] | None = None) -> list[Finding]:
    """Keys, node inputs and outputs, bindings, literal values and cycles of a pipeline and its components.

    Node types whose inputs our checks cannot see (automl tasks, prompt flows, workspace components) get
    their keys and bindings checked; the rest of the verdict is azure-ai-ml's.
    """
    doc, path = pipeline.doc, str(pipeline.doc.path)
    findings = list(pipeline.problems)
    if pipeline.is_component:
        findings += _unknown_keys(
            path, pipeline.data, keys.COMPONENTS["pipeline"], (), "a pipeline component", doc.line
        )
    else:
        findings += _unknown_keys(path, pipeline.data, keys.PIPELINE, (), "a pipeline", doc.line)
        findings += _unknown_keys(path, pipeline.settings, keys.SETTINGS, ("settings",), "settings", doc.line)
    checked: set[tuple[str, tuple[str | int, ...]]] = set()
    for node in pipeline.nodes.values():
        known = keys.NODES.get(node.kind)
        if known is None:
            findings.append(
                Finding(
                    path,
                    doc.line("jobs", node.name, "type"),
                    f"jobs.{node.name}.type",
                    f"unknown job type {node.kind!r}{keys.suggestion(node.kind, keys.NODES)}",
                    f"use one of {', '.join(sorted(keys.NODES))}",
                )
            )
            continue
        findings += _unknown_keys(path, node.data, known, ("jobs", node.name), f"a {node.kind} job", doc.line)
        findings += _check_node_outputs(pipeline, node.name)
        if node.component is None or node.component.kind == keys.FLOW:
            findings += _check_inline_inputs(pipeline, node.name)
            continue
        identity = (str(node.component.doc.path), node.component.key)
        if identity not in checked:  # a component run by several jobs is reported once
            checked.add(identity)
            findings += check_component(node.component)
        findings += _check_node_inputs(pipeline, node.name)
    findings += wiring.check_types(pipeline) + wiring.check_writers(pipeline)
    if params is not None:
        findings += wiring.check_params(params, Path(PARAMS_FILE))
    findings += _check_parent_inputs(pipeline, params)
    findings += _check_pipeline_outputs(pipeline)
    _, cyclic = topological_order(pipeline)
    if cyclic:
        findings.append(
            Finding(
                path,
                doc.line("jobs", cyclic[0]),
                "jobs",
                f"the jobs {', '.join(cyclic)} depend on each other in a cycle",
                "break the cycle: a job cannot consume its own output, directly or indirectly",
            )
        )
    return findings


def _check_node_inputs(pipeline: Pipeline, name: str) -> list[Finding]:
    node, doc, path = pipeline.nodes[name], pipeline.doc, str(pipeline.doc.path)
    assert node.component is not None
    specs = node.component.inputs
    findings = []
    for input_name, value in node.inputs.items():
        key = ("jobs", name, "inputs", input_name)
        dotted = ".".join(key)
        if input_name not in specs:
            findings.append(
                Finding(
                    path,
                    doc.line(*key),
                    dotted,
                    f"the component has no input {input_name!r}, so Azure ML silently drops it"
                    f"{keys.suggestion(input_name, list(specs))}",
                    f"use one of the component's inputs: {', '.join(specs) or '(none)'}",
                )
            )
            continue
        spec = specs[input_name]
        if isinstance(value, dict):
            findings += _unknown_keys(path, value, keys.NODE_INPUT, key, "a job input", doc.line)
            value = value.get("path", value.get("default"))
        findings += _check_binding(pipeline, key, value, spec)
    searched = node.data.get("search_space") if node.kind == "sweep" else None
    searched = searched if isinstance(searched, dict) else {}
    for input_name, spec in specs.items():
        if input_name in searched:
            continue
        if input_name not in node.inputs and "default" not in spec and not spec.get("optional"):
            findings.append(
                Finding(
                    path,
                    doc.line("jobs", name),
                    f"jobs.{name}.inputs",
                    f"required input {input_name!r} of the component is not bound",
                    f"add inputs.{input_name}: with a value or a ${{{{parent...}}}} binding",
                )
            )
    return findings


def _check_binding(
    pipeline: Pipeline, key: tuple[str, ...], value: object, spec: dict[str, Any]
) -> list[Finding]:
    path, line, dotted = str(pipeline.doc.path), pipeline.doc.line(*key), ".".join(key)
    if not is_binding(value):
        problem = literal_problem(value, spec)
        return (
            [Finding(path, line, dotted, problem, "change the value to fit the component's input spec")]
            if problem
            else []
        )
    expr = bindings(value)[0]
    parts = expr.split(".")
    if parts[:2] == ["parent", "inputs"] and len(parts) == 3:
        if parts[2] not in pipeline.inputs:
            return [
                Finding(
                    path,
                    line,
                    dotted,
                    f"binds to parent input {parts[2]!r}, which the pipeline does"
                    f" not declare{keys.suggestion(parts[2], list(pipeline.inputs))}",
                    "declare it under the pipeline's inputs: or correct the name",
                )
            ]
        bound = pipeline.inputs[parts[2]]
        literal = bound.get("default", bound.get("value")) if isinstance(bound, dict) else bound
        problem = literal_problem(literal, spec) if literal is not None else None
        return (
            [
                Finding(
                    path,
                    pipeline.doc.line("inputs", parts[2]),
                    f"inputs.{parts[2]}",
                    f"{problem} (it feeds {dotted})",
                    "change the pipeline input's value",
                )
            ]
            if problem
            else []
        )
    if parts[:2] == ["parent", "jobs"] and len(parts) == 5 and parts[3] == "outputs":
        upstream = pipeline.nodes.get(parts[2])
        if upstream is None:
            return [
                Finding(
                    path,
                    line,
                    dotted,
                    f"binds to job {parts[2]!r}, which the pipeline does not have"
                    f"{keys.suggestion(parts[2], list(pipeline.nodes))}",
                    "correct the job name",
                )
            ]
        known = upstream.component is not None and upstream.component.kind != keys.FLOW
        if known and upstream.component is not None and parts[4] not in upstream.component.outputs:
            return [
                Finding(
                    path,
                    line,
                    dotted,
                    f"binds to output {parts[4]!r} of job {parts[2]!r}, which its component does not"
                    f" produce{keys.suggestion(parts[4], list(upstream.component.outputs))}",
                    f"use one of: {', '.join(upstream.component.outputs) or '(none)'}",
                )
            ]
        return []
    return [
        Finding(
            path,
            line,
            dotted,
            f"${{{{{expr}}}}} is not a binding an input can use",
            "use ${{parent.inputs.<name>}} or ${{parent.jobs.<job>.outputs.<name>}}",
        )
    ]


def _check_inline_inputs(pipeline: Pipeline, name: str) -> list[Finding]:
    """Bindings of a job without a component spec to check against: they must name what exists."""
    findings = []
    for input_name, value in pipeline.nodes[name].inputs.items():
        key = ("jobs", name, "inputs", input_name)
        if isinstance(value, dict):
            findings += _unknown_keys(
                str(pipeline.doc.path), value, keys.NODE_INPUT, key, "a job input", pipeline.doc.line
            )
            value = value.get("path")
        if is_binding(value):
            findings += _check_binding(pipeline, key, value, {})
    return findings


def _check_node_outputs(pipeline: Pipeline, name: str) -> list[Finding]:
    node, doc, path = pipeline.nodes[name], pipeline.doc, str(pipeline.doc.path)
    # An inline job declares its outputs itself; a flow's or automl task's outputs are the SDK's to know.
    spec = node.component is not None and node.component.kind != keys.FLOW
    declared = node.component.outputs if node.component is not None else node.outputs
    findings = []
    for output, value in node.outputs.items():
        key = ("jobs", name, "outputs", output)
        if spec and output not in declared:
            findings.append(
                Finding(
                    path,
                    doc.line(*key),
                    ".".join(key),
                    f"the component has no output {output!r}{keys.suggestion(output, list(declared))}",
                    f"use one of the component's outputs: {', '.join(declared) or '(none)'}",
                )
            )
            continue
        if isinstance(value, dict):
            findings += _unknown_keys(path, value, keys.NODE_OUTPUT, key, "a job output", doc.line)
        for expr in bindings(value):
            target = expr.split(".")
            if target[:2] == ["parent", "outputs"] and (
                len(target) != 3 or target[2] not in pipeline.outputs
            ):
                findings.append(
                    Finding(
                        path,
                        doc.line(*key),
                        ".".join(key),
                        f"${{{{{expr}}}}}: the pipeline declares no such output",
                        "declare it under the pipeline's outputs: or correct the name",
                    )
                )
    return findings


def _check_parent_inputs(pipeline: Pipeline, params: dict[str, Any] | None) -> list[Finding]:
    """A hyperparameter input named `<params section>_<key>` must name a key that params.yaml has.

    Only parameter inputs (a literal, or a spec of type string/number/integer/boolean) are bound to
    params.yaml by `compile` and `submit`; a data input such as `train_data` merely shares the prefix.
    """
    if not params:
        return []
    findings = []
    for name, value in pipeline.inputs.items():
        kind = value.get("type") if isinstance(value, dict) else None
        if isinstance(value, dict) and kind not in keys.PARAMETER_TYPES:
            continue
        for section, values in params.items():
            if isinstance(values, dict) and name.startswith(f"{section}_"):
                key = name.removeprefix(f"{section}_")
                if key not in values:
                    findings.append(
                        Finding(
                            str(pipeline.doc.path),
                            pipeline.doc.line("inputs", name),
                            f"inputs.{name}",
                            f"params.yaml has no key {section}.{key}, so compile has no value for it"
                            f"{keys.suggestion(key, [str(k) for k in values])}",
                            f"add {section}.{key} to params.yaml, or rename the input <section>_<key>",
                        )
                    )
    return findings


def _check_pipeline_outputs(pipeline: Pipeline) -> list[Finding]:
    produced = {
        expr.split(".")[2]
        for node in pipeline.nodes.values()
        for value in node.outputs.values()
        for expr in bindings(value.get("path") if isinstance(value, dict) else value)
        if expr.startswith("parent.outputs.")
    }
    return [
        Finding(
            str(pipeline.doc.path),
            pipeline.doc.line("outputs", name),
            f"outputs.{name}",
            "nobody produces this pipeline output: no job binds an output to ${{parent.outputs."
            + name
            + "}}",
            "bind a job's output to it, or remove it",
        )
        for name in pipeline.outputs
        if name not in produced
    ]
