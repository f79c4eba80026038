"""Load and validate `params.yaml`: the forker's step parameters plus the machinery's quality gate."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ml.errors import EdgeTrainError
from ml.paths import PARAMS_FILE
from ml.steps.params import ModelParams
from ml.validation import describe_validation_error


class GateRule(BaseModel):
    """A pull request fails when the metric falls below `min` or drops more than `max_drop` from base."""

    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None
    max_drop: float | None = Field(None, ge=0)


class Params(ModelParams):
    gate: dict[str, GateRule] = Field(default_factory=dict)


def read_params_file(path: Path) -> dict:
    """The raw mapping in params.yaml, with a clear error for missing, unreadable or non-mapping files."""
    if not path.is_file():
        raise EdgeTrainError(f"{path}: file not found", hint=f"create {PARAMS_FILE} at the repository root")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EdgeTrainError(
            f"{path}: not valid YAML: {exc}", hint="fix the syntax at the line shown"
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise EdgeTrainError(
            f"{path}: expected a mapping of sections, got {type(raw).__name__}",
            hint="see the template's params.yaml for the expected layout",
        )
    return raw


def load_params(root: Path) -> Params:
    path = root / PARAMS_FILE
    try:
        return Params.model_validate(read_params_file(path))
    except ValidationError as exc:
        raise describe_validation_error(path, exc) from None


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
