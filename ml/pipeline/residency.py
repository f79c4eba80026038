"""The residency rule, once: data that can hold rows never leaves Azure Stack Hub.

Azure ML writes node outputs to the workspace's cloud blobstore unless told otherwise. An output may leave the
premises only when it cannot carry rows: a model (mlflow/custom/triton model), a parameter value, or an
output its component declares row-free with the tag `edge_train.outputs.<output>.no_raw_data: <why>`
(metrics, plots, the pointer files nodes hand each other). Every other output (uri_folder, uri_file, mltable)
must be written to the edge datastore (`[azure] edge_datastore` in edge-train.toml), by its own `path:`, by
the pipeline output it is bound to, or by `settings.default_datastore`.

The rule is applied to `PlacedOutput`s; `validate` builds them from the YAML (`from_pipeline`), `submit` (and
anything else holding the job azure-ai-ml built, such as a job emulator) from that job (`from_job`), so they
give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ml.errors import EdgeTrainError
from ml.pipeline.findings import Finding
from ml.pipeline.graph import OUTPUT_TAG_PREFIX, Pipeline, bindings, read_component_pipeline
from ml.pipeline.keys import DATA_TYPES

if TYPE_CHECKING:
    from pathlib import Path

    from azure.ai.ml.entities import PipelineJob

RULE = (
    "residency rule: outputs that can carry data (uri_folder, uri_file, mltable) must be written to the "
    "edge datastore {edge!r}, because Azure ML writes outputs to the workspace's cloud blobstore by default; "
    "only models, metrics, plots and pointers may leave"
)
DEFAULT_TYPE = "uri_folder"  # what Azure ML assumes for an output without a type


@dataclass(frozen=True)
class PlacedOutput:
    """One node output and where Azure ML would write it (`path` None: the default datastore)."""

    node: tuple[str, ...]  # job names from the top pipeline down (nested pipeline components)
    output: str
    type: str
    path: str | None
    no_raw_data: bool
    where: tuple[Any, ...] = ()  # (file, line) for findings; not part of the verdict

    @property
    def key(self) -> str:
        return f"jobs.{'.jobs.'.join(self.node)}.outputs.{self.output}"


def _datastore(path: str | None, default_datastore: str | None) -> str | None:
    """The datastore name a path writes to (`azureml://datastores/<name>/...`), else the default's."""
    if path is None:
        return (default_datastore or "").removeprefix("azureml:") or None
    prefix = "azureml://datastores/"
    return path.removeprefix(prefix).split("/", 1)[0] if path.startswith(prefix) else None


def violations(outputs: list[PlacedOutput], edge: str, default_datastore: str | None) -> list[PlacedOutput]:
    """The outputs that could carry rows and would be written outside the edge datastore."""
    return [
        out
        for out in outputs
        if out.type in DATA_TYPES and not out.no_raw_data and _datastore(out.path, default_datastore) != edge
    ]


def _fix(out: PlacedOutput, edge: str) -> str:
    return (
        f"set path: azureml://datastores/{edge}/paths/<folder>/${{{{name}}}}/{out.output}, or if it holds "
        f"only aggregates or pointers tag its component edge_train.outputs.{out.output}.no_raw_data: <why>"
    )


def _message(out: PlacedOutput, edge: str) -> str:
    where = repr(out.path) if out.path else "the workspace's default datastore (no path: given)"
    return f"{out.type} output would be written to {where}; {RULE.format(edge=edge)}"


# --- validate: the YAML as written -------------------------------------------------------------------


def from_pipeline(pipeline: Pipeline) -> list[PlacedOutput]:
    """Every node output of a pipeline YAML (and of the pipeline components it runs), placed."""
    return _from_yaml(pipeline, (), {})


def _from_yaml(
    pipeline: Pipeline, prefix: tuple[str, ...], outer: dict[str, str | None]
) -> list[PlacedOutput]:
    placed = []
    for node in pipeline.nodes.values():
        component = node.component
        specs = component.outputs if component else {}
        tags = component.tags if component else {}
        names = list(dict.fromkeys([*specs, *node.outputs]))
        resolved: dict[str, str | None] = {}
        for name in names:
            value = node.outputs.get(name)
            path = _yaml_path(pipeline, value, outer)
            resolved[name] = path
            kind = (value.get("type") if isinstance(value, dict) else None) or specs.get(name, {}).get("type")
            placed.append(
                PlacedOutput(
                    node=(*prefix, node.name),
                    output=name,
                    type=str(kind or DEFAULT_TYPE),
                    path=path,
                    no_raw_data=bool(tags.get(f"{OUTPUT_TAG_PREFIX}{name}.no_raw_data")),
                    where=(
                        str(pipeline.doc.path),
                        pipeline.doc.line("jobs", node.name, "outputs", name)
                        or pipeline.doc.line("jobs", node.name),
                    ),
                )
            )
        if component is not None and component.kind == "pipeline":
            inner = read_component_pipeline(component)
            placed = [
                p for p in placed if p.node != (*prefix, node.name)
            ]  # its outputs are its jobs' outputs
            placed += _from_yaml(inner, (*prefix, node.name), resolved)
    return placed


def _yaml_path(pipeline: Pipeline, value: Any, outer: dict[str, str | None]) -> str | None:
    """Where an output is written, following `${{parent.outputs.x}}` to the pipeline (or outer) output."""
    path = value.get("path") if isinstance(value, dict) else value
    for expr in bindings(path):
        if expr.startswith("parent.outputs."):
            name = expr.removeprefix("parent.outputs.")
            if pipeline.is_component:
                return outer.get(name)
            target = pipeline.outputs.get(name)
            return target.get("path") if isinstance(target, dict) else None
    return path if isinstance(path, str) else None


def check_residency(pipeline: Pipeline, edge_datastore: str) -> list[Finding]:
    """One error per data-carrying output that would be written outside the edge datastore."""
    default = pipeline.settings.get("default_datastore")
    return [
        Finding(out.where[0], out.where[1], out.key, _message(out, edge_datastore), _fix(out, edge_datastore))
        for out in violations(from_pipeline(pipeline), edge_datastore, str(default) if default else None)
    ]


# --- submit: the job azure-ai-ml built ---------------------------------------------------------------


def from_job(job: PipelineJob) -> list[PlacedOutput]:
    """Every node output of the job `submit` would send (nested pipeline components included), placed."""
    outputs = {name: getattr(out, "path", None) for name, out in (job.outputs or {}).items()}
    return _from_sdk(job.jobs, (), outputs)


def _from_sdk(
    jobs: dict[str, Any], prefix: tuple[str, ...], outer: dict[str, str | None]
) -> list[PlacedOutput]:
    placed = []
    for name, node in jobs.items():
        component = node.trial if node.type == "sweep" else getattr(node, "component", None)
        tags = (getattr(component, "tags", None) or {}) if not isinstance(component, str) else {}
        resolved: dict[str, str | None] = {}
        for output, value in node.outputs.items():
            data = getattr(value, "_data", None)  # what the YAML gave the node: it overrides the component
            given = data if isinstance(data, dict) else vars(data) if hasattr(data, "__dict__") else {}
            path = given.get("path") or getattr(value, "path", None)
            for expr in bindings(data if isinstance(data, str) else None):
                if expr.startswith("parent.outputs."):
                    path = outer.get(expr.removeprefix("parent.outputs."))
            kind = given.get("type") or getattr(value, "type", None)
            resolved[output] = path
            placed.append(
                PlacedOutput(
                    node=(*prefix, name),
                    output=output,
                    type=str(kind or DEFAULT_TYPE),
                    path=path,
                    no_raw_data=bool(tags.get(f"{OUTPUT_TAG_PREFIX}{output}.no_raw_data")),
                )
            )
        if node.type == "pipeline" and not isinstance(component, str):
            placed = [p for p in placed if p.node != (*prefix, name)]
            placed += _from_sdk(component.jobs, (*prefix, name), resolved)
    return placed


def check_job(job: PipelineJob, edge_datastore: str, pipeline_file: Path) -> None:
    """Refuse (EdgeTrainError) a job with any output that would carry data off the premises."""
    default = getattr(job.settings, "default_datastore", None) if job.settings else None
    refused = violations(from_job(job), edge_datastore, str(default) if default else None)
    if refused:
        first = refused[0]
        raise EdgeTrainError(
            f"{pipeline_file}: {len(refused)} output(s) would carry data off the premises: "
            + ", ".join(out.key for out in refused)
            + f" ({_message(first, edge_datastore)})",
            hint=f"{_fix(first, edge_datastore)} (edge-train.toml: edge_datastore = {edge_datastore!r})",
        )
