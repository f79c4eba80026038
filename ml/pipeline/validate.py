"""`edge-train pipeline validate`: azure-ai-ml's own checks, then ours, for pipeline and component files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.errors import EdgeTrainError
from ml.pipeline.checks import check_component, check_pipeline
from ml.pipeline.findings import Finding
from ml.pipeline.graph import Component, read_pipeline
from ml.pipeline.loader import load_yaml
from ml.pipeline.residency import check_residency


def default_paths(root: Path) -> list[Path]:
    """What `validate` checks when given no paths: every pipeline and component of the repository."""
    files = sorted((root / "pipelines").glob("*.yml")) + sorted((root / "components").glob("*.yml"))
    here = Path.cwd()
    return [file.relative_to(here) if file.is_relative_to(here) else file for file in files]


def validate_file(
    path: Path,
    *,
    edge_datastore: str,
    params: dict[str, Any] | None,
    use_sdk: bool = True,
    cache_dir: Path | None = None,
) -> list[Finding]:
    """Every finding for one pipeline or command component file; unreadable YAML is one finding.

    `cache_dir` keeps azure-ai-ml's verdicts by content hash (see `sdk`); None always runs the SDK.
    """
    try:
        doc = load_yaml(path)
    except EdgeTrainError as exc:
        return [Finding(str(path), None, "(file)", exc.message, exc.hint or "fix the file")]
    kind = doc.data.get("type") if isinstance(doc.data, dict) else None
    if kind == "pipeline":
        pipeline = read_pipeline(path)
        findings = check_pipeline(pipeline, params) + check_residency(pipeline, edge_datastore)
        sources = [Path(n.component.doc.path) for n in pipeline.nodes.values() if n.component]
    elif kind == "command":
        findings = check_component(Component(doc=doc))
        sources = []
    else:
        return [
            Finding(
                str(path),
                doc.line("type"),
                "type",
                f"unsupported type {kind!r}",
                "validate pipeline (type: pipeline) and command component (type: command) files",
            )
        ]
    if use_sdk:
        from ml.pipeline.sdk import sdk_findings

        findings = sdk_findings(doc, kind, sources, cache_dir) + findings
    return findings
