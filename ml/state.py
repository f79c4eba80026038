"""A small record of what this checkout last released, so an unchanged re-run skips without importing MLflow.

It is a cache, never the source of truth: deleting `.edge-train/` only makes the next run ask the registry.
"""

from __future__ import annotations

import json
from pathlib import Path

from ml.atomic import atomic_write_text
from ml.paths import STATE_DIR

STATE_FILE = "state.json"


def read_state(root: Path) -> dict:
    path = root / STATE_DIR / STATE_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def update_state(root: Path, **entries: object) -> None:
    state = read_state(root)
    state.update(entries)
    atomic_write_text(root / STATE_DIR / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
