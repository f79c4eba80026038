"""azure-ai-ml's verdict without importing it (3 s), for files that use only what the derived tables describe.

A command component or a pipeline of command jobs that run local component files, written with plain keys
(strings, flags, tags, inputs and outputs, `code:`, an image plus conda file environment), is checked here:
key kinds from the SDK's schemas (`keys`), the SDK's name pattern, a compute for every job, and the local
files the SDK would read. Our other checks cover the rest (keys, input and output specs, bindings). Anything
else (resources, distribution, sweep, spark, parallel, automl, prompt flows, pipeline components, workspace
references) `needs_sdk`, and azure-ai-ml's verdict stands. A unit test runs every corpus file both ways and
requires that this check rejects whatever the SDK rejects.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ml.pipeline import keys
from ml.pipeline.findings import Finding
from ml.pipeline.loader import YamlDoc

# azure-ai-ml's PythonFuncNameStr (component names); tests/unit/pipeline/test_offline.py checks it agrees.
NAME = re.compile(r"^[a-z][a-z\d_]*$")
FIX = "fix the value (azure-ai-ml would reject it: https://azuremlschemas.azureedge.net/latest/)"
SCALAR = (str, int, float, bool)
KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "mapping": (dict,),
    "list": (list,),
}
COMPONENT_KEYS = {
    "$schema",
    "type",
    "name",
    "display_name",
    "description",
    "version",
    "tags",
    "is_deterministic",
    "inputs",
    "outputs",
    "code",
    "environment",
    "environment_variables",
    "command",
    "additional_includes",
}
PIPELINE_KEYS = {
    "$schema",
    "type",
    "name",
    "display_name",
    "description",
    "experiment_name",
    "compute",
    "tags",
    "properties",
    "settings",
    "inputs",
    "outputs",
    "jobs",
}
NODE_KEYS = {
    "type",
    "component",
    "inputs",
    "outputs",
    "compute",
    "display_name",
    "description",
    "name",
    "tags",
}
ENVIRONMENT_KEYS = {"image", "conda_file", "name", "version", "description"}


def _flat(value: object) -> bool:
    """A scalar, or a mapping of scalars (an input's or output's spec, tags, settings)."""
    if isinstance(value, dict):
        return all(v is None or isinstance(v, SCALAR) or _scalar_list(v) for v in value.values())
    return value is None or isinstance(value, SCALAR)


def _scalar_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, SCALAR) for v in value)


def needs_sdk(doc: YamlDoc, is_job: bool) -> str | None:
    """Why this file needs azure-ai-ml's own verdict, or None when the tables describe all of it."""
    data = doc.data if isinstance(doc.data, dict) else {}
    if is_job:
        return _pipeline_needs(data, doc.path)
    if data.get("type") != "command":
        return f"a {data.get('type') or 'flow'} component"
    extra = set(data) - COMPONENT_KEYS
    if extra:
        return f"keys {sorted(extra)}"
    environment = data.get("environment")
    if isinstance(environment, dict) and not (set(environment) <= ENVIRONMENT_KEYS and _flat(environment)):
        return "an environment beyond image and conda file"
    if isinstance(environment, str) and not environment.startswith("azureml:"):
        return "an environment reference"
    for part in ("inputs", "outputs", "tags", "environment_variables"):
        values = data.get(part) or {}
        if not isinstance(values, dict) or not all(_flat(v) for v in values.values()):
            return f"nested {part}"
    return None


def _pipeline_needs(data: dict[str, Any], path: Path) -> str | None:
    extra = set(data) - PIPELINE_KEYS
    if extra:
        return f"keys {sorted(extra)}"
    for part in ("settings", "tags", "properties"):
        if not _flat(data.get(part) or {}):
            return f"nested {part}"
    for part in ("inputs", "outputs"):
        values = data.get(part) or {}
        if not isinstance(values, dict) or not all(_flat(v) for v in values.values()):
            return f"nested {part}"
    for name, node in (data.get("jobs") or {}).items():
        if not isinstance(node, dict) or node.get("type", "command") != "command":
            return f"job {name}: not a command job"
        component = node.get("component")
        if not isinstance(component, str) or component.startswith("azureml:"):
            return f"job {name}: an inline or workspace component"
        if set(node) - NODE_KEYS:
            return f"job {name}: keys {sorted(set(node) - NODE_KEYS)}"
        for part in ("inputs", "outputs"):
            values = node.get(part) or {}
            if not isinstance(values, dict) or not all(_flat(v) for v in values.values()):
                return f"job {name}: nested {part}"
    return None


def findings(doc: YamlDoc, is_job: bool) -> list[Finding]:
    """What azure-ai-ml would reject in a file `needs_sdk` passed: value kinds, the name, missing files."""
    data = doc.data if isinstance(doc.data, dict) else {}
    table = keys.PIPELINE if is_job else keys.COMPONENTS["command"]
    found = [_kind(doc, (key,), value, table[key]) for key, value in data.items() if key in table]
    if is_job:
        default = data.get("compute") or (data.get("settings") or {}).get("default_compute")
        for name, node in (data.get("jobs") or {}).items():
            found += [
                _kind(doc, ("jobs", name, key), value, keys.NODES["command"][key])
                for key, value in node.items()
                if key in keys.NODES["command"]
            ]
            if not (node.get("compute") or default):
                found.append(
                    Finding(
                        str(doc.path),
                        doc.line("jobs", name),
                        f"jobs.{name}.compute",
                        "Compute not set: the job has none and the pipeline no settings.default_compute",
                        "set settings.default_compute: azureml:<compute> (or compute: on the job)",
                    )
                )
    else:
        name = data.get("name")
        if isinstance(name, str) and not NAME.match(name):
            found.append(
                Finding(
                    str(doc.path),
                    doc.line("name"),
                    "name",
                    f"component name {name!r} must be lower-case letters, digits and underscores, starting "
                    "with a letter",
                    FIX,
                )
            )
        found += _missing_files(doc, data)
    return [f for f in found if f is not None]


def _kind(doc: YamlDoc, key: tuple[str, ...], value: object, spec: dict[str, Any]) -> Finding | None:
    if "enum" in spec:
        ok, wanted = str(value) in spec["enum"], f"one of {', '.join(spec['enum'])}"
    else:
        kinds = KINDS.get(spec.get("kind", "any"))
        ok = (
            kinds is None or value is None or (isinstance(value, kinds) and not _bool_as_number(value, kinds))
        )
        wanted = f"a {spec.get('kind')}"
    if ok:
        return None
    return Finding(str(doc.path), doc.line(*key), ".".join(key), f"{value!r} is not {wanted}", FIX)


def _bool_as_number(value: object, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, bool) and bool not in kinds


def _missing_files(doc: YamlDoc, data: dict[str, Any]) -> list[Finding]:
    """The local files azure-ai-ml reads while loading: the code folder and the conda file."""
    environment = data.get("environment")
    wanted = [(("code",), data.get("code"))]
    if isinstance(environment, dict):
        wanted.append((("environment", "conda_file"), environment.get("conda_file")))
    return [
        Finding(
            str(doc.path),
            doc.line(*key),
            ".".join(key),
            f"{value!r} does not exist ({doc.path.parent / value})",
            "correct the path; it is relative to the component file",
        )
        for key, value in wanted
        if isinstance(value, str) and ":" not in value and not (doc.path.parent / value).exists()
    ]
