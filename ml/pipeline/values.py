"""Check a literal value against an Azure ML input spec: its type, `min`/`max` and `enum`.

The SDK accepts `seed: abc` for an integer input and `threshold: 7` for an input with `max: 1.0` offline; the
job then fails, or worse trains with a surprising value, on the edge compute.

Values are read as azure-ai-ml reads them (its `Input._parse`): a string given for a number, integer or
boolean is parsed (`"1e-3"`, which YAML 1.1 leaves a string, is a number; `"False"` is a boolean), and
anything given for a string is its text (`default: True` is the string "True").
"""

from __future__ import annotations

from typing import Any


def literal_problem(value: object, spec: dict[str, Any]) -> str | None:
    """What is wrong with `value` for an input described by `spec`, or None when it fits."""
    kind = spec.get("type")
    if isinstance(value, str) and kind in ("integer", "number", "boolean"):
        parsed = _parse(value, kind)
        if parsed is None:
            return f"{value!r} is not a valid {kind}"
        value = parsed
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "string":
        ok = isinstance(value, str | int | float)
    else:
        return None  # data and model inputs take paths; nothing to check offline
    if not ok:
        return f"{value!r} is not a valid {kind}"
    enum = spec.get("enum")
    if isinstance(enum, list) and value not in enum:
        return f"{value!r} is not one of {enum}"
    if kind in ("integer", "number"):
        low, high = spec.get("min"), spec.get("max")
        if isinstance(low, int | float) and value < low:
            return f"{value!r} is below the minimum {low}"
        if isinstance(high, int | float) and value > high:
            return f"{value!r} is above the maximum {high}"
    return None


def _parse(text: str, kind: str) -> int | float | bool | None:
    """The value azure-ai-ml makes of `text` for a parameter of type `kind`, or None when it cannot."""
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.strip().lower())
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if kind == "integer" else number
