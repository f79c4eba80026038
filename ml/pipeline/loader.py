"""Read Azure ML YAML keeping the line of every key, so each finding can point at the line to fix.

PyYAML's `compose` keeps positions that `safe_load` throws away: the file is composed once, with the C
loader when PyYAML has it (pure-Python parsing was most of validate's time), and the data is constructed
from that same node tree, so it is exactly what `safe_load` (and azure-ai-ml) reads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ml.errors import EdgeTrainError

KeyPath = tuple[str | int, ...]
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file plus the 1-based line of every mapping key and sequence item in it."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(repr=False)

    def line(self, *key: str | int) -> int | None:
        """The line of `key`, or of its nearest parent that exists (a missing key is reported there)."""
        for end in range(len(key), 0, -1):
            if key[:end] in self.lines:
                return self.lines[key[:end]]
        return None


def load_yaml(path: Path) -> YamlDoc:
    """Parse `path`; a missing file or a syntax error is an `EdgeTrainError` naming file and line."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise EdgeTrainError(f"{path}: file not found", hint="check the path") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _load(path: Path, mtime_ns: int, size: int) -> YamlDoc:
    """One parse per file version: a pipeline's components are read again by every check that follows it."""
    text = path.read_text(encoding="utf-8")
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise EdgeTrainError(
            f"{where}: not valid YAML: {exc}", hint="fix the syntax at the line shown"
        ) from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return YamlDoc(path=path, data=data, lines=lines)


def _collect_lines(node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, key_node.value)
            lines[key] = key_node.start_mark.line + 1
            _collect_lines(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*prefix, index)
            lines[key] = item.start_mark.line + 1
            _collect_lines(item, key, lines)
