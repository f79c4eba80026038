"""The keys and value types Azure ML v2 YAML may use at each level, derived from azure-ai-ml's schemas.

The table comes from `sdk_tables` (derived from the installed SDK's marshmallow schemas, stored with the SDK
version). The SDK keeps unknown `settings` keys and drops unknown node keys silently, so a typo such as
`default_comptue` only shows up on the edge compute, if ever; validate reports them with these sets.
"""

from __future__ import annotations

import difflib
from typing import Any

from ml.pipeline import sdk_tables

_TABLE = sdk_tables.current()

Keys = dict[str, dict[str, Any]]

PIPELINE: Keys = _TABLE["pipeline"]
SETTINGS: Keys = _TABLE["settings"]
NODES: dict[str, Keys] = _TABLE["nodes"]
NODE_INPUT: Keys = _TABLE["node_input"]
NODE_OUTPUT: Keys = _TABLE["node_output"]
COMPONENTS: dict[str, Keys] = _TABLE["components"]
COMPONENT_INPUT: Keys = _TABLE["component_input"]
COMPONENT_OUTPUT: Keys = _TABLE["component_output"]

PARAMETER_TYPES = frozenset(_TABLE["parameter_types"])
IO_TYPES = frozenset(COMPONENT_INPUT["type"]["enum"]) | frozenset(COMPONENT_OUTPUT["type"]["enum"])
# What may carry rows of data, as opposed to a parameter or a model (the residency rule's concern).
DATA_TYPES = frozenset({"uri_folder", "uri_file", "mltable", "path"})
# Prompt flow components are described by flow.dag.yaml or a run.yml, not by a `type:`; the SDK loads them.
FLOW = "flow"
FLOW_OUTPUTS: Keys = _TABLE["flow_outputs"]


def suggestion(name: str, known: Any) -> str:
    """`did you mean 'x'?` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
