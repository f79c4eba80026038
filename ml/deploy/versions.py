"""Which model version a deploy serves: only versions that were promoted to the deploy stage.

The GTO stage tags are the record (`<model>#production#N`), so a fresh CI runner with the repository's tags
knows the same history as a laptop.
"""

from __future__ import annotations

from pathlib import Path

from ml.errors import EdgeTrainError
from ml.release.promote import DEFAULT_STAGE, parse_ref
from ml.release.version import VersionTag, list_versions, stage_tags


def promoted_history(root: Path, name: str, stage: str = DEFAULT_STAGE) -> list[str]:
    """The versions that held `stage`, oldest first, each once (its latest assignment counts)."""
    history = [version for _, version in stage_tags(root, name, stage)]
    return [v for i, v in enumerate(history) if v not in history[i + 1 :]]


def resolve(root: Path, ref: str | None, model: str, stage: str = DEFAULT_STAGE) -> VersionTag:
    """The version to deploy: `ref`, or the current `stage` version; refused unless it was promoted."""
    if ref:
        model, version = parse_ref(root, ref)
    history = promoted_history(root, model, stage)
    if not ref:
        if not history:
            raise EdgeTrainError(
                f"no version of {model} is promoted to {stage}, so there is nothing to deploy",
                hint=f"promote one first: edge-train promote <version> --stage {stage}",
            )
        version = history[-1]
    found = next((v for v in list_versions(root, model) if v.version == version), None)
    if found is None:
        raise EdgeTrainError(
            f"no version {model}@{version}",
            hint="list versions with `gto show` (fetch tags first: git fetch --tags)",
        )
    if version not in history:
        raise EdgeTrainError(
            f"{found.tag} was never promoted to {stage}, so it is not deployed",
            hint=f"promote it first (edge-train promote {version} --stage {stage}), after review",
        )
    return found


def previous(root: Path, model: str, current: str, stage: str = DEFAULT_STAGE) -> VersionTag:
    """The version that held `stage` before `current`: what `deploy --rollback` returns to."""
    history = promoted_history(root, model, stage)
    if current in history:
        history = history[: history.index(current)]
    if not history:
        raise EdgeTrainError(
            f"{model} has no {stage} version before {current} to roll back to",
            hint="deploy a named version instead: edge-train deploy <version> --target <name>",
        )
    return resolve(root, f"{model}@{history[-1]}", model, stage)
