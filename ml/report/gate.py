"""The quality gate: `gate:` in params.yaml, one pass/fail verdict per metric it names.

`min`/`max` bound the new value; `max_drop` bounds how much worse than the base value it may be (a fall, or a
rise for metrics where lower is better, such as rmse or log_loss). Without a base value
(the first report of a fork, or a base that does not exist) `max_drop` cannot be judged: the verdict says so
instead of silently passing or failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ml.params import GateRule
from ml.report.diff import MISSING, as_number, flatten, lower_is_better

# Metrics are rounded floats; a drop equal to the limit must pass despite binary representation noise.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Verdict:
    metric: str
    passed: bool
    reasons: tuple[str, ...]


def evaluate(
    rules: Mapping[str, GateRule],
    base: Mapping[str, object] | None,
    head: Mapping[str, object],
    not_comparable: str | None = None,
) -> list[Verdict]:
    """`not_comparable`: why the base ran on other data; then `max_drop` is reported as not judged."""
    flat_base, flat_head = flatten(base or {}), flatten(head)
    return [
        _judge(name, rule, flat_base.get(name, MISSING), flat_head.get(name, MISSING), not_comparable)
        for name, rule in sorted(rules.items())
    ]


def _judge(
    name: str, rule: GateRule, base: object, head: object, not_comparable: str | None = None
) -> Verdict:
    if head is MISSING:
        return Verdict(name, False, ("the run produced no such metric",))
    value = as_number(head)
    if value is None:
        return Verdict(name, False, (f"value {head!r} is not a number",))
    checks: list[tuple[bool, str]] = []
    if rule.min is not None:
        ok = value >= rule.min - TOLERANCE
        checks.append((ok, f"{_f(value)} {'≥' if ok else '<'} min {_f(rule.min)}"))
    if rule.max is not None:
        ok = value <= rule.max + TOLERANCE
        checks.append((ok, f"{_f(value)} {'≤' if ok else '>'} max {_f(rule.max)}"))
    if rule.max_drop is not None and not_comparable:
        checks.append((True, f"max_drop {_f(rule.max_drop)} not judged: the base ran on other data"))
    elif rule.max_drop is not None:
        checks.append(_drop_check(value, as_number(base), rule.max_drop, lower_is_better(name)))
    if not checks:
        return Verdict(name, True, ("no bound set",))
    return Verdict(name, all(ok for ok, _ in checks), tuple(reason for _, reason in checks))


def _drop_check(value: float, base: float | None, max_drop: float, lower_better: bool) -> tuple[bool, str]:
    if base is None:
        return True, f"max_drop {_f(max_drop)} not checked: no base value"
    drop = value - base if lower_better else base - value
    if drop <= max_drop + TOLERANCE:
        return True, f"drop {_f(max(drop, 0.0))} ≤ max_drop {_f(max_drop)}"
    return False, f"drop {_f(drop)} > max_drop {_f(max_drop)} (base {_f(base)})"


def _f(value: float) -> str:
    return f"{value:.4g}"
