"""Wiring mistakes azure-ai-ml passes offline and a run finds late, or never: each is an error with its line.

- an output wired into an input of a type that cannot hold it (a model into a `uri_file` input);
- two jobs writing the same output path: the same `azureml://` path, or the same local path (`dvc.yaml`
  would get two stages writing one output, which DVC refuses with advice that does not fit a generated file);
- empty or malformed `azureml:` references (`compute: "azureml:"`);
- a `code:` snapshot outside the repository: Azure ML uploads that whole folder (other checkouts, their data
  and `.dvc/config.local` included), so it is refused;
- an empty or keyless params.yaml, which turns every `${...}` of dvc.yaml into a literal and drops the gate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ml.pipeline.findings import Finding
from ml.pipeline.graph import LOCAL_OUTPUT_TAG, OUTPUT_TAG_PREFIX, Pipeline, bindings, read_component_pipeline
from ml.pipeline.loader import KeyPath, YamlDoc
from ml.pipeline.residency import DEFAULT_TYPE

# What an input of each type accepts from an upstream output. A file input needs a file; a folder input
# takes anything stored as a folder (tables and models are folders); a model input needs that kind of model.
ACCEPTS = {
    "uri_file": {"uri_file"},
    "uri_folder": {"uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model"},
    "mltable": {"mltable", "uri_folder"},
    "mlflow_model": {"mlflow_model"},
    "custom_model": {"custom_model", "mlflow_model", "triton_model"},
    "triton_model": {"triton_model"},
}
NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
REFERENCE = re.compile(
    rf"azureml:(//[^/\s]+/\S+|/subscriptions/\S+|{NAME}(:{NAME}|@{NAME})?)",
)


def _strings(value: Any, key: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, (*key, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*key, index))
    elif isinstance(value, str):
        yield key, value


def check_references(doc: YamlDoc) -> list[Finding]:
    """Every `azureml:` value must name something: `azureml:<name>[:<version>|@<label>]`, a URI or an id."""
    return [
        Finding(
            str(doc.path),
            doc.line(*key),
            ".".join(map(str, key)),
            f"{value!r} is not a complete workspace reference",
            "write azureml:<name>, azureml:<name>:<version>, azureml:<name>@<label> or an azureml:// URI",
        )
        for key, value in _strings(doc.data)
        if value.startswith("azureml:") and not REFERENCE.fullmatch(value.strip())
    ]


def check_code_paths(doc: YamlDoc, root: Path) -> list[Finding]:
    """A local `code:` folder must be the repository or inside it: Azure ML uploads all of it."""
    findings = []
    for key, value in _strings(doc.data):
        if not key or key[-1] != "code" or re.match(r"^[a-z][a-z0-9+.\-]*:", value):
            continue  # workspace references and URLs are not uploaded from here
        folder = (doc.path.parent / value).resolve()
        if not folder.is_relative_to(root.resolve()):
            findings.append(
                Finding(
                    str(doc.path),
                    doc.line(*key),
                    ".".join(map(str, key)),
                    f"{value!r} is {folder}, outside the repository {root.resolve()}: Azure ML would "
                    "upload that whole folder (other checkouts, their data and credentials included)",
                    "point code: at the repository root or a folder inside it",
                )
            )
    return findings


def check_params(params: dict[str, Any] | None, path: Path) -> list[Finding]:
    """params.yaml must hold at least one section with keys: compile and submit read nothing else."""
    if params and any(isinstance(values, dict) and values for values in params.values()):
        return []
    return [
        Finding(
            str(path),
            None,
            "(file)",
            "params.yaml has no hyperparameters: every ${section.key} of dvc.yaml would be a literal and the "
            "quality gate would be gone",
            "restore params.yaml (sections such as train: with their keys, and gate:)",
        )
    ]


def _output_type(pipeline: Pipeline, job: str, output: str) -> str | None:
    node = pipeline.nodes.get(job)
    if node is None:
        return None
    value = node.outputs.get(output)
    given = value.get("type") if isinstance(value, dict) else None
    if given:
        return str(given)
    if node.component is not None:
        return node.component.outputs.get(output, {}).get("type", DEFAULT_TYPE)
    return DEFAULT_TYPE if output in node.outputs else None


def check_types(pipeline: Pipeline) -> list[Finding]:
    """Each `${{parent.jobs.J.outputs.O}}` input must be of a type that can hold what O is."""
    findings = []
    for node in pipeline.nodes.values():
        specs = node.component.inputs if node.component is not None else {}
        for name, value in node.inputs.items():
            wanted = specs.get(name, {}).get("type")
            if isinstance(value, dict):
                wanted, value = value.get("type", wanted), value.get("path")
            for expr in bindings(value):
                parts = expr.split(".")
                if len(parts) != 5 or parts[:2] != ["parent", "jobs"]:
                    continue
                job, output = parts[2], parts[4]
                given = _output_type(pipeline, job, output)
                if wanted in ACCEPTS and given and given not in ACCEPTS[wanted]:
                    findings.append(
                        Finding(
                            str(pipeline.doc.path),
                            pipeline.doc.line("jobs", node.name, "inputs", name),
                            f"jobs.{node.name}.inputs.{name}",
                            f"a {wanted} input cannot take the {given} output {job}.{output}",
                            f"wire an output of type {' or '.join(sorted(ACCEPTS[wanted]))}, or change the "
                            "input's type",
                        )
                    )
    return findings


def check_writers(pipeline: Pipeline) -> list[Finding]:
    """One writer per output path: an `azureml://` path, or a local path `compile` gives an output."""
    findings: list[Finding] = []
    seen: dict[tuple[str, str], str] = {}

    def claim(where: str, path: str, writer: str, key: KeyPath, doc: YamlDoc) -> None:
        if (where, path) in seen:
            findings.append(
                Finding(
                    str(doc.path),
                    doc.line(*key),
                    ".".join(map(str, key)),
                    f"{writer} writes {where} path {path!r}, which {seen[(where, path)]} writes too: one "
                    "would overwrite the other",
                    "give each output its own path",
                )
            )
        else:
            seen[(where, path)] = writer

    for node in pipeline.nodes.values():
        for output, value in node.outputs.items():
            path = value.get("path") if isinstance(value, dict) else None
            if isinstance(path, str) and not bindings(path.replace("${{name}}", "")):
                key = ("jobs", node.name, "outputs", output, "path")
                claim("the Azure", path, f"{node.name}.{output}", key, pipeline.doc)
    for node in pipeline.nodes.values():
        component = node.component
        if component is None:
            continue
        for output in component.outputs:
            tag = f"{OUTPUT_TAG_PREFIX}{output}.local_path"
            tag = LOCAL_OUTPUT_TAG if LOCAL_OUTPUT_TAG in component.tags else tag
            local = component.tags.get(tag)
            if local:
                claim(
                    "the local", local, f"{node.name}.{output}", (*component.key, "tags", tag), component.doc
                )
    return findings


def documents(pipeline: Pipeline) -> list[YamlDoc]:
    """The pipeline file and every component file it reads, nested pipeline components included."""
    docs = {str(pipeline.doc.path): pipeline.doc}
    for node in pipeline.nodes.values():
        if node.component is not None and not node.component.key:
            docs.setdefault(str(node.component.doc.path), node.component.doc)
            if node.component.kind == "pipeline":
                for doc in documents(read_component_pipeline(node.component)):
                    docs.setdefault(str(doc.path), doc)
    return list(docs.values())


def check_files(docs: list[YamlDoc], root: Path) -> list[Finding]:
    """References and code snapshots of every file a pipeline or component reads."""
    return [finding for doc in docs for finding in check_references(doc) + check_code_paths(doc, root)]
