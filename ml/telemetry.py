"""Every library that would report usage is told not to: one list, set in every process edge-train starts.

- MLflow sends usage telemetry unless `MLFLOW_DISABLE_TELEMETRY` (or `DO_NOT_TRACK`) is set.
- DVC sends anonymous analytics unless `DVC_NO_ANALYTICS` is set (the template's .dvc/config also has
  `core.analytics = false`, for a user's plain `dvc`).
- onnxruntime (1.2x+, Linux too) writes a device id, a telemetry SQLite database with the host's CPU, memory
  and OS under ~/.cache/Microsoft/DeveloperTools and a `.ses` file in $TMPDIR on import, unless
  `ORT_DISABLE_TELEMETRY` is set. The image's Dockerfile sets the same variable for its build and its server.
"""

from __future__ import annotations

import os

TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
    "ORT_DISABLE_TELEMETRY": "1",
}


def disable_telemetry() -> None:
    """Set the variables in this process (and so in every child it starts), unless the user chose."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
