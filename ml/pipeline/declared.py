"""Hyperparameters are declared once, in ml/steps/params.py: check the YAML inputs that repeat them.

Azure ML needs each hyperparameter as a pipeline input (`<section>_<key>`) bound to a component input with a
type, a default and bounds. Those copies cannot be imported from Python, so `pipeline compile` checks them
against the declaration instead: every params.yaml key must reach a step, and every component input bound to
it must carry the declared type, default, bounds and choices. Each finding names the file and the fix.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ml.params import split_input_name
from ml.pipeline.graph import Pipeline, bindings

AML_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def expected_spec(field: FieldInfo) -> dict[str, Any]:
    """The Azure ML input spec a pydantic field stands for (exclusive bounds become inclusive min/max)."""
    annotation = field.annotation
    spec: dict[str, Any] = {"default": field.default}
    if typing.get_origin(annotation) is typing.Literal:
        spec["type"] = "string"
        spec["enum"] = list(typing.get_args(annotation))
    else:
        spec["type"] = AML_TYPES.get(annotation, "string")
    for meta in field.metadata:
        for attr, key in (("gt", "min"), ("ge", "min"), ("lt", "max"), ("le", "max")):
            if getattr(meta, attr, None) is not None:
                spec[key] = getattr(meta, attr)
    return spec


def declaration_errors(pipeline: Pipeline, model: type[BaseModel], params: dict[str, Any]) -> list[str]:
    """What disagrees with the declaration, one line each naming file, key and fix; [] when all agree."""
    sections = {
        name: info.annotation.model_fields
        for name, info in model.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    }
    declared = {s: dict.fromkeys(fields) for s, fields in sections.items()}
    errors: list[str] = []
    reached: set[tuple[str, str]] = set()
    pipeline_file = pipeline.doc.path
    for name in pipeline.inputs:
        found = split_input_name(name, declared)
        if found is None:
            continue
        reached.add(found)
        want = expected_spec(sections[found[0]][found[1]])
        for node in pipeline.nodes.values():
            component = node.component
            if component is None:
                continue
            for input_name, value in node.inputs.items():
                if f"parent.inputs.{name}" not in bindings(value):
                    continue
                have = component.inputs.get(input_name, {})
                for key, wanted in want.items():
                    if not _same(have.get(key), wanted):
                        errors.append(
                            f"{component.doc.path}: inputs.{input_name}.{key} is {have.get(key)!r}, but "
                            f"ml/steps/params.py declares {found[0]}.{found[1]} with {key} {wanted!r}: "
                            f"set it to {wanted!r}"
                        )
    for section, keys in params.items():
        if section not in sections or not isinstance(keys, dict):
            continue
        for key in keys:
            if (section, key) not in reached:
                errors.append(
                    f"{pipeline_file}: params.yaml {section}.{key} reaches no step: add the input "
                    f"`{section}_{key}` to the pipeline's inputs, bind it in the {section} job and its "
                    f"component (an input and a `--{key.replace('_', '-')}` flag in the command)"
                )
    return errors


def _same(have: object, wanted: object) -> bool:
    if isinstance(wanted, float | int) and not isinstance(wanted, bool) and isinstance(have, int | float):
        return float(have) == float(wanted)
    return have == wanted
