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
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            problem = f"{error['msg']}{shown}"
        lines.append(f"{path}: {key}: {problem}")
        fixes.append(_FIXES.get(kind, f"set {key} to a valid value"))
    return EdgeTrainError("\n".join(lines), hint="; ".join(dict.fromkeys(fixes)))
