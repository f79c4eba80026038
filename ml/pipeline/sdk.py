"""azure-ai-ml's own offline checks: its YAML loaders and `_validate()`, as findings, cached by content.

Importing azure-ai-ml costs 3+ s of CPU here, more than the whole budget of `validate`. Its verdict depends
only on the bytes of the files it reads and on its own version, so the findings are cached under
`.edge-train/` keyed by exactly those: an unchanged repository validates without importing it, and any edit
re-checks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

from ml.atomic import atomic_write_text
from ml.pipeline.findings import Finding
from ml.pipeline.loader import YamlDoc

FIX = "fix what azure-ai-ml reports (its schema: https://azuremlschemas.azureedge.net/latest/)"


def cache_key(doc: YamlDoc, kind: str, sources: list[Path]) -> str:
    """A hash of the SDK version, the file's kind and path, and the bytes of every file the SDK reads."""
    digest = hashlib.sha256(f"azure-ai-ml {version('azure-ai-ml')}\n{kind}\n{doc.path}\n".encode())
    for source in [doc.path, *sorted(sources)]:
        digest.update(source.read_bytes() if source.is_file() else b"<missing>")
    return digest.hexdigest()


def sdk_findings(doc: YamlDoc, kind: str, sources: list[Path], cache_dir: Path | None) -> list[Finding]:
    """azure-ai-ml's findings for `doc`; `sources` are the other files it reads (a pipeline's components)."""
    entry = cache_dir / f"{cache_key(doc, kind, sources)}.json" if cache_dir else None
    if entry and entry.is_file():
        return [Finding(**item) for item in json.loads(entry.read_text(encoding="utf-8"))]
    findings = _run_sdk(doc, kind)
    if entry:
        atomic_write_text(entry, json.dumps([asdict(f) for f in findings]))
    return findings


def _run_sdk(doc: YamlDoc, kind: str) -> list[Finding]:
    # Its "experimental class" notices are noise here; the SDK resets its package logger's level on import.
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from azure.ai.ml import load_component, load_job

        # After the import (which resets it): its log lines repeat what the findings say, as noise.
        logging.getLogger("azure.ai.ml").setLevel(logging.CRITICAL)
        loader = load_job if kind == "job" else load_component
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
