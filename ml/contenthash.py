"""The content hash of a file or a folder: what identifies a model by its bytes, wherever it was made.

One definition for the lineage (the registered model and its ONNX copy) and for the export step, whose parity
report names the model it checked, so the release can tell whether the report is about the model it ships.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def content_hash(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's files (relative path and bytes, in sorted order)."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
