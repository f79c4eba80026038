"""Load and validate `params.yaml`: the forker's step parameters plus the machinery's quality gate."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ml.errors import EdgeTrainError
from ml.paths import PARAMS_FILE
from ml.steps.params import ModelParams
from ml.validation import describe_validation_error

# scikit-learn's scores that live in [0, 1] (not the example's metrics: any classifier's), so that a gate
# bound outside it, which no run can ever meet or fail, is a typo caught before the run.
UNIT_INTERVAL_METRICS = frozenset(
    {"accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "jaccard"}
)


class GateRule(BaseModel):
    """A pull request fails when the metric falls below `min` or drops more than `max_drop` from base."""

    model_config = ConfigDict(extra="forbid")
    min: float | None = Field(None, allow_inf_nan=False)
    max: float | None = Field(None, allow_inf_nan=False)
    max_drop: float | None = Field(None, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> GateRule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}: no value can pass")
        return self


# Parsing is pure Python (the alias check needs it): ~1.4 s per MB, so a pasted blob fails at once instead.
MAX_PARAMS_BYTES = 1024 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without YAML aliases: params.yaml never needs them, and nine nested aliases expand to
    hundreds of millions of nodes (the 'billion laughs')."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "YAML aliases (*name) are not allowed in params.yaml: write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


class Params(ModelParams):
    gate: dict[str, GateRule] = Field(default_factory=dict)


def read_params_file(path: Path) -> dict:
    """The raw mapping in params.yaml, with a clear error for missing, unreadable or non-mapping files."""
    if not path.is_file():
        raise EdgeTrainError(
            f"{path}: file not found (or not a regular file)",
            hint=f"create {PARAMS_FILE} at the repository root (`git checkout {PARAMS_FILE}` restores it)",
        )
    size = path.stat().st_size
    if size > MAX_PARAMS_BYTES:
        raise EdgeTrainError(
            f"{path}: {size:,} bytes; hyperparameters fit in a few kilobytes (limit {MAX_PARAMS_BYTES:,})",
            hint="remove the oversized value; data belongs in data/ (tracked by DVC), not in params.yaml",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EdgeTrainError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise EdgeTrainError(
            f"{path}: cannot read it ({exc.strerror})", hint="check its permissions"
        ) from None
    try:
        raw = yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise EdgeTrainError(
            f"{path}: not valid YAML: {' '.join(str(exc).split())[:300]}",
            hint="fix the syntax at the line shown",
        ) from None
    if raw is None:
        raise EdgeTrainError(
            f"{path}: the file is empty: every step reads its section (dvc.yaml interpolates them)",
            hint=f"restore the template's {PARAMS_FILE} (`git checkout {PARAMS_FILE}`) and edit the values",
        )
    if not isinstance(raw, dict):
        raise EdgeTrainError(
            f"{path}: expected a mapping of sections, got {type(raw).__name__}",
            hint="see the template's params.yaml for the expected layout",
        )
    return raw


def load_params(root: Path) -> Params:
    path = root / PARAMS_FILE
    try:
        params = Params.model_validate(read_params_file(path))
    except ValidationError as exc:
        raise describe_validation_error(path, exc) from None
    _check_gate_bounds(path, params.gate)
    return params


def _check_gate_bounds(path: Path, gate: dict[str, GateRule]) -> None:
    for metric, rule in gate.items():
        if metric.split(".")[-1] not in UNIT_INTERVAL_METRICS:
            continue
        for key in ("min", "max", "max_drop"):
            value = getattr(rule, key)
            if value is not None and not 0.0 <= value <= 1.0:
                raise EdgeTrainError(
                    f"{path}: gate.{metric}.{key}: {value} is outside [0, 1], the range of {metric}",
                    hint=f"set gate.{metric}.{key} between 0 and 1 (e.g. 0.9)",
                )


def params_hash(root: Path) -> str:
    """A short content hash of params.yaml, recorded in model lineage."""
    return hashlib.sha256((root / PARAMS_FILE).read_bytes()).hexdigest()[:16]


def split_input_name(name: str, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """`train_max_iter` -> ("train", "max_iter"): the one reading of a `<section>_<key>` pipeline input.

    The section is the longest params.yaml section that prefixes the name and holds the rest as a key, so
    sections and keys may both contain underscores (`feature_eng_max_bins`). None when nothing matches.
    """
    matches = [
        (section, name[len(section) + 1 :])
        for section, values in params.items()
        if isinstance(values, Mapping)
        and name.startswith(f"{section}_")
        and name[len(section) + 1 :] in values
    ]
    return max(matches, key=lambda match: len(match[0])) if matches else None
