"""Derive the keys, node types and value types of Azure ML v2 YAML from azure-ai-ml's own marshmallow schemas.

The derived table is stored next to this module (`azure_ml_schema.json`) with the SDK version it came from:
`validate` reads it without importing azure-ai-ml (3 s), and when the installed SDK is another version it
derives the table again in-process, so a new SDK release never leaves a stale copy in charge. A unit test
re-derives it and fails when the stored table and the SDK disagree in either direction;
`python -m ml.pipeline.sdk_tables` rewrites it.
"""

from __future__ import annotations

import json
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

TABLE_FILE = Path(__file__).with_name("azure_ml_schema.json")


def sdk_version() -> str | None:
    """The installed azure-ai-ml's version; None where it is not installed (inside an Azure ML job)."""
    try:
        return version("azure-ai-ml")
    except PackageNotFoundError:
        return None


def _schemas(field: Any) -> list[Any]:
    """The schema classes a marshmallow field can hold, through the SDK's union and container fields."""
    from marshmallow import Schema, class_registry, fields

    if isinstance(field, Schema):
        return [type(field)]
    if isinstance(field, type) and issubclass(field, Schema):
        return [field]
    if isinstance(field, fields.Nested):
        nested = field.nested
        if callable(nested) and not isinstance(nested, type):
            nested = nested()
        if isinstance(nested, str):
            nested = class_registry.get_class(nested)
        return _schemas(nested)
    found: list[Any] = []
    for inner in (
        getattr(field, "_union_fields", None) or [],
        [f for group in (getattr(field, "_type_sensitive_fields_dict", None) or {}).values() for f in group],
        [getattr(field, "value_field", None), getattr(field, "inner", None)],
    ):
        for item in inner:
            if item is not None:
                found += [s for s in _schemas(item) if s not in found]
    return found


def _declared(schema: Any) -> dict[str, Any]:
    """Keys a file may set: not the server's read-only (dump-only) fields, except `$schema`, which every
    loader drops before the schema sees it."""
    fields = schema.declared_fields if not isinstance(schema, type) else schema._declared_fields
    return {
        (f.data_key or name): f for name, f in fields.items() if not f.dump_only or f.data_key == "$schema"
    }


def _describe(field: Any) -> dict[str, Any]:
    """A field's value type as validate checks it: a scalar kind, allowed values, or nested keys."""
    from marshmallow import fields

    allowed = getattr(field, "allowed_values", None)
    if allowed:
        return {"enum": sorted(str(v) for v in allowed)}
    for kind, classes in (
        ("boolean", (fields.Boolean,)),
        ("integer", (fields.Integer,)),
        ("number", (fields.Float, fields.Number)),
        ("string", (fields.String,)),
        ("mapping", (fields.Dict, fields.Nested)),
        ("list", (fields.List,)),
    ):
        if isinstance(field, classes):
            return {"kind": kind}
    return {"kind": "any"}


def _keys(schemas: list[Any]) -> dict[str, dict[str, Any]]:
    """Every key the schemas declare, each with its value type (`any` where two schemas disagree)."""
    table: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        for key, field in _declared(schema).items():
            described = _describe(field)
            if key in table and table[key] != described:
                merged = sorted(set(table[key].get("enum", [])) | set(described.get("enum", [])))
                both_enums = "enum" in table[key] and "enum" in described
                table[key] = {"enum": merged} if both_enums else {"kind": "any"}
            else:
                table[key] = described
    return dict(sorted(table.items()))


def _field_keys(schemas: list[Any], name: str) -> dict[str, dict[str, Any]]:
    """Keys of what the field `name` of these schemas holds (e.g. each value of a node's `inputs`)."""
    inner = [s for schema in schemas if name in _declared(schema) for s in _schemas(_declared(schema)[name])]
    return _keys(inner)


def _node_keys(schemas: list[Any], base_node: type) -> dict[str, dict[str, Any]]:
    """A node's schema keys plus what every node's constructor takes: node schemas load unknown keys
    (`unknown=INCLUDE`) and hand them to the node, so `display_name` on a sweep node is kept, not dropped."""
    import inspect

    keys = _keys(schemas)
    for name in inspect.signature(base_node.__init__).parameters:
        if name not in ("self", "kwargs"):
            keys.setdefault(name, {"kind": "any"})
    return dict(sorted(keys.items()))


def derive() -> dict[str, Any]:
    """The table, from the installed azure-ai-ml (imports it: seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from azure.ai.ml._schema.component.input_output import ParameterSchema
        from azure.ai.ml._schema.pipeline.pipeline_component import PipelineJobsField
        from azure.ai.ml._schema.pipeline.pipeline_job import PipelineJobSchema
        from azure.ai.ml.entities._builders.base_node import BaseNode
        from azure.ai.ml.entities._component.component_factory import component_factory
        from azure.ai.ml.entities._component.flow import FlowComponentOutputDict

        context = {"base_path": "."}
        nodes = {
            str(kind): [schema for field in group for schema in _schemas(field)]
            for kind, group in PipelineJobsField().value_field._type_sensitive_fields_dict.items()
        }
        components = {
            str(kind): [type(create(context=context))]
            for kind, create in component_factory._create_schema_funcs.items()
        }
        all_components = [s for schemas in components.values() for s in schemas]
        all_nodes = [s for schemas in nodes.values() for s in schemas]
        return {
            "azure-ai-ml": sdk_version(),
            "pipeline": _keys([PipelineJobSchema]),
            "settings": _field_keys([PipelineJobSchema], "settings"),
            "nodes": {kind: _node_keys(schemas, BaseNode) for kind, schemas in sorted(nodes.items())},
            "node_input": _field_keys(all_nodes, "inputs"),
            "node_output": _field_keys(all_nodes, "outputs"),
            "components": {kind: _keys(schemas) for kind, schemas in sorted(components.items())},
            "component_input": _field_keys(all_components, "inputs"),
            "component_output": _field_keys(all_components, "outputs"),
            "parameter_types": _keys([ParameterSchema])["type"]["enum"],
            # A prompt flow component's outputs are fixed by the SDK, not written in its file.
            "flow_outputs": {name: {"type": out.type} for name, out in FlowComponentOutputDict().items()},
        }


def stored() -> dict[str, Any]:
    """The table as committed, whatever SDK version it was derived from."""
    return json.loads(TABLE_FILE.read_text(encoding="utf-8"))


def current() -> dict[str, Any]:
    """The table for the installed SDK: the stored one when the versions match (or no SDK is installed to
    ask), else derived now."""
    table = stored()
    installed = sdk_version()
    return table if installed in (None, table.get("azure-ai-ml")) else derive()


def write() -> None:
    TABLE_FILE.write_text(json.dumps(derive(), indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write()
