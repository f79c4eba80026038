"""Turn pydantic validation errors into one `EdgeTrainError` that names file, key and fix."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ml.errors import EdgeTrainError

_FIXES = {
    "extra_forbidden": "remove the key or correct its spelling",
    "missing": "add the key",
}


def describe_validation_error(path: Path, exc: ValidationError) -> EdgeTrainError:
    """One line per problem: `file: key.path: what is wrong`, with the fix as the hint."""
    lines = []
    fixes = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        kind = error["type"]
        if kind == "extra_forbidden":
            problem = "unknown key"
        else:
            got = error.get("input")
            shown = "" if isinstance(got, dict) else f" (got {_short(got)})"
            problem = f"{error['msg']}{shown}"
        lines.append(f"{path}: {key}: {problem}")
        fixes.append(_FIXES.get(kind, f"set {key} to a valid value"))
    return EdgeTrainError("\n".join(lines), hint="; ".join(dict.fromkeys(fixes)))


def _short(value: object, limit: int = 60) -> str:
    """The offending value, cut short: a 10 MB value must not become 10 MB of error message."""
    from ml.redact import mask_secrets

    text = mask_secrets(repr(value))
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"
