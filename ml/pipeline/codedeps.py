"""Which source files a step runs, so DVC re-runs a step when (and only when) its own code changes.

A component's `code:` is the whole repository (Azure ML needs it all in the snapshot); as a DVC dependency
that would re-run every step on any edit. Instead: the module the command runs (`python -m pkg.mod`) plus the
modules of the same package it imports, transitively. The shared machinery (ml/atomic.py, ml/tracking.py ...)
is left out on purpose: it does not change what a step computes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

MODULE = re.compile(r"\bpython3?\s+-m\s+([\w.]+)")


def command_module(command: str) -> str | None:
    match = MODULE.search(command)
    return match.group(1) if match else None


def module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def step_sources(root: Path, module: str) -> list[str]:
    """Repository-relative paths of `module` and its same-package imports, in a stable order."""
    package = module.rpartition(".")[0]
    seen: dict[str, str] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        file = module_file(root, name)
        if file is None:
            continue
        seen[name] = file.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            pending += [n for n in names if n.rpartition(".")[0] == package and module_file(root, n)]
    first = seen.pop(module, None)
    return ([first] if first else []) + sorted(seen.values())
