"""azure-ai-ml's own offline checks: its YAML loaders and `_validate()`, as findings.

Imported lazily: azure-ai-ml costs well over a second to import, so `compile` (and the pre-commit hook) never
pays for it; only `validate` does.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from ml.pipeline.findings import Finding
from ml.pipeline.loader import YamlDoc

FIX = "fix what azure-ai-ml reports (its schema: https://azuremlschemas.azureedge.net/latest/)"


def sdk_findings(doc: YamlDoc, kind: str) -> list[Finding]:
    """Load `doc` with azure-ai-ml's loader for `kind` ("pipeline" or "command") and run `_validate()`."""
    logging.getLogger("azure.ai.ml").setLevel(logging.ERROR)  # "experimental class" notices on import
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from azure.ai.ml import load_component, load_job

        loader = load_job if kind == "pipeline" else load_component
        try:
            result = loader(source=Path(doc.path))._validate()
        except Exception as exc:  # the SDK raises many types for bad YAML; each is a finding, not a crash
            return [Finding(str(doc.path), None, "(azure-ai-ml)", _first_lines(str(exc)), FIX)]
    return [
        Finding(str(doc.path), doc.line(*key.split(".")), key, f"azure-ai-ml: {message}", FIX)
        for key, message in sorted(result.error_messages.items())
    ]


def _first_lines(text: str, limit: int = 6) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "azure-ai-ml: " + " | ".join(lines[:limit])
