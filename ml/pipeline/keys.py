"""The keys Azure ML v2 YAML may use at each level, taken from azure-ai-ml's own schemas.

The SDK keeps unknown `settings` keys and ignores some misspellings silently, so a typo such as
`default_comptue` only shows up on the edge compute, if ever. A unit test keeps these sets inside the SDK's.
"""

from __future__ import annotations

import difflib

PIPELINE_KEYS = frozenset(
    {
        "$schema",
        "type",
        "name",
        "display_name",
        "description",
        "tags",
        "properties",
        "experiment_name",
        "compute",
        "settings",
        "inputs",
        "outputs",
        "jobs",
        "identity",
        "services",
        "component",
    }
)
SETTINGS_KEYS = frozenset({"default_compute", "default_datastore", "continue_on_step_failure", "force_rerun"})
NODE_KEYS = frozenset(
    {
        "type",
        "component",
        "compute",
        "inputs",
        "outputs",
        "environment",
        "environment_variables",
        "code",
        "command",
        "comment",
        "distribution",
        "identity",
        "limits",
        "properties",
        "queue_settings",
        "resources",
        "services",
    }
)
NODE_OUTPUT_KEYS = frozenset({"type", "mode", "path", "name", "version"})
NODE_INPUT_KEYS = frozenset({"type", "path", "mode", "default", "optional", "description"})
COMPONENT_KEYS = frozenset(
    {
        "$schema",
        "type",
        "name",
        "display_name",
        "description",
        "version",
        "tags",
        "properties",
        "inputs",
        "outputs",
        "code",
        "command",
        "environment",
        "environment_variables",
        "distribution",
        "resources",
        "is_deterministic",
        "additional_includes",
        "queue_settings",
    }
)
COMPONENT_INPUT_KEYS = frozenset({"type", "description", "default", "optional", "min", "max", "enum", "mode"})
COMPONENT_OUTPUT_KEYS = frozenset({"type", "description", "mode"})

PARAMETER_TYPES = frozenset({"string", "integer", "number", "boolean"})
DATA_TYPES = frozenset({"uri_folder", "uri_file", "mltable"})
MODEL_TYPES = frozenset({"mlflow_model", "custom_model", "triton_model"})
IO_TYPES = PARAMETER_TYPES | DATA_TYPES | MODEL_TYPES


def suggestion(name: str, known: frozenset[str] | list[str]) -> str:
    """`did you mean 'x'?` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
