"""Compare two nested mappings key by key: the core of the metrics and params sections of the report.

Nested keys become dotted paths (`train.optimizer.adam.beta1`), so a change three levels down is one row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

MISSING = object()
"""The value of a key on a side that does not have it (None is a real value in YAML and JSON)."""

Kind = Literal["added", "removed", "changed", "unchanged"]


def flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """`{"a": {"b": 1}}` → `{"a.b": 1}`; an empty mapping stays a leaf so that its removal still shows."""
    flat: dict[str, object] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def lower_is_better(metric: str) -> bool:
    """True for metrics where a smaller value is the better model (the task's evaluate step declares them)."""
    from ml.steps.schema import LOWER_IS_BETTER

    return metric.rsplit(".", 1)[-1] in LOWER_IS_BETTER


def as_number(value: object) -> float | None:
    """The value as a float when it is a finite number; booleans and strings are not metrics to subtract."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class Change:
    key: str
    base: object
    head: object

    @property
    def kind(self) -> Kind:
        if self.base is MISSING:
            return "added"
        if self.head is MISSING:
            return "removed"
        return "unchanged" if self.base == self.head else "changed"

    @property
    def better(self) -> bool | None:
        """Whether this change improves the metric (None when unchanged or not a number)."""
        delta = self.delta
        if not delta:
            return None
        return (delta < 0) if lower_is_better(self.key) else (delta > 0)

    @property
    def delta(self) -> float | None:
        """head - base when both are numbers, else None (the report says why)."""
        base, head = as_number(self.base), as_number(self.head)
        return None if base is None or head is None else head - base


def diff(base: Mapping[str, object], head: Mapping[str, object]) -> list[Change]:
    """Every key of either side, sorted, with its value on each side (MISSING where absent)."""
    flat_base, flat_head = flatten(base), flatten(head)
    return [
        Change(key, flat_base.get(key, MISSING), flat_head.get(key, MISSING))
        for key in sorted(flat_base.keys() | flat_head.keys())
    ]
