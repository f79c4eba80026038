"""`edge-train pipeline validate`: azure-ai-ml's own checks, then ours, for pipeline and component files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.errors import EdgeTrainError
from ml.paths import repo_root
from ml.pipeline import keys, offline, wiring
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
    use_sdk: bool | None = None,
    cache_dir: Path | None = None,
    root: Path | None = None,
) -> list[Finding]:
    """Every finding for one pipeline or command component file; unreadable YAML is one finding.

    `use_sdk`: True always asks azure-ai-ml, False never; None (default) asks it only about files the derived
    tables cannot describe (`offline.needs_sdk`) and checks the others against the tables, without the 3 s
    import. `cache_dir` keeps azure-ai-ml's verdicts by content hash (see `sdk`); None always runs the SDK.
    `root` is the repository a `code:` snapshot must stay inside (default: the current repository).
    """
    root = root or repo_root()
    try:
        doc = load_yaml(path)
    except EdgeTrainError as exc:
        return [Finding(str(path), None, "(file)", exc.message, exc.hint or "fix the file")]
    component = Component(doc=doc)
    if component.kind == "pipeline" and not read_pipeline(path).is_component:
        pipeline = read_pipeline(path)
        docs = wiring.documents(pipeline)
        findings = check_pipeline(pipeline, params) + check_residency(pipeline, edge_datastore)
        findings += wiring.check_files(docs, root)
        sources = [Path(d.path) for d in docs[1:]]
        loader = "job"
        offline_docs = [(doc, True)] + [(d, False) for d in docs[1:]]
    elif component.kind in keys.COMPONENTS or component.kind == keys.FLOW:
        findings = check_component(component) + wiring.check_files([doc], root)
        sources = []
        loader = "component"
        offline_docs = [(doc, False)]
    else:
        return [
            Finding(
                str(path),
                doc.line("type"),
                "type",
                f"unsupported type {component.kind or None!r}",
                "validate pipeline (type: pipeline) and component files (command, pipeline, spark, parallel, "
                "...; prompt flows as flow.dag.yaml or run.yml)",
            )
        ]
    if use_sdk is None:
        use_sdk = any(offline.needs_sdk(d, is_job) for d, is_job in offline_docs)
        if not use_sdk:
            findings = [f for d, is_job in offline_docs for f in offline.findings(d, is_job)] + findings
    if use_sdk:
        from ml.pipeline.sdk import sdk_findings

        findings = sdk_findings(doc, loader, sources, cache_dir) + findings
    return findings
