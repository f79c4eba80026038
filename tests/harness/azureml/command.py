"""A node's command with `${{inputs.*}}` and `${{outputs.*}}` replaced, as the service does before running it.

Literal inputs become their value; data inputs and outputs become the path where they are mounted in the
container. `$[[ ... ]]` marks an optional part: kept (without the brackets) when every input it names is
given, dropped otherwise (azure-ai-ml documents this for optional inputs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
_BINDING = re.compile(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}")


class CommandError(RuntimeError):
    """The command names an input or output the node does not have."""


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def resolve_command(template: str, inputs: Mapping[str, object], outputs: Mapping[str, str]) -> str:
    """`template` with every binding replaced; raises CommandError naming any binding it cannot fill."""

    def optional(match: re.Match[str]) -> str:
        names = _BINDING.findall(match.group(1))
        given = all((inputs if kind == "inputs" else outputs).get(name) is not None for kind, name in names)
        return match.group(1) if given else ""

    def binding(match: re.Match[str]) -> str:
        kind, name = match.groups()
        table = inputs if kind == "inputs" else outputs
        if table.get(name) is None:
            raise CommandError(f"the command uses ${{{{{kind}.{name}}}}}, which the node does not provide")
        return _literal(table[name])

    return _BINDING.sub(binding, _OPTIONAL.sub(optional, template))
