"""Assemble the image's build context: Dockerfile, scoring server, model(s), signature and lineage.

The context holds the trained model and metadata only, never data: the residency test scans it and every
image layer for training rows. Its content digest (files + base image) is the image's identity, so the same
inputs are recognised in the registry and never rebuilt or pushed twice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import metadata
from pathlib import Path

from ml.atomic import atomic_output_dir
from ml.paths import MODEL_DIR
from ml.steps.schema import load_schema

CONTEXT_DIR = "build/image"
SERVING_DIR = Path(__file__).resolve().parent
# What the server imports, pinned to the versions that trained and checked the model.
SERVING_PACKAGES = ("numpy", "pandas", "scikit-learn", "skops", "onnxruntime")


def write_context(
    root: Path, lineage: dict[str, str], onnx_model: Path | None, target: Path | None = None
) -> Path:
    """Write build/image/ (or `target`), replacing it atomically, and return its path."""
    target = target or root / CONTEXT_DIR
    with atomic_output_dir(target) as tmp:
        shutil.copy2(SERVING_DIR / "Dockerfile", tmp / "Dockerfile")
        shutil.copy2(SERVING_DIR / "server.py", tmp / "server.py")
        (tmp / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
        shutil.copytree(root / MODEL_DIR, tmp / "model")
        if onnx_model is not None:
            shutil.copy2(onnx_model, tmp / "model.onnx")
        (tmp / "requirements.txt").write_text(requirements())
        schema = load_schema()
        signature = {
            "columns": schema.names,
            "kinds": [f.kind for f in schema.features],
            "native": native_model(root / MODEL_DIR),
        }
        (tmp / "signature.json").write_text(json.dumps(signature, indent=2) + "\n")
        (tmp / "lineage.json").write_text(json.dumps(lineage, indent=2, sort_keys=True) + "\n")
    return target


def native_model(model_dir: Path) -> dict[str, object]:
    """Which skops file the server loads, and the exact types it may instantiate (those this file holds,
    checked here where the model was trained, so the image never trusts more than that)."""
    import skops.io
    import yaml

    flavor = yaml.safe_load((model_dir / "MLmodel").read_text())["flavors"]["sklearn"]
    path = model_dir / flavor["pickled_model"]
    return {
        "file": f"model/{flavor['pickled_model']}",
        "trusted_types": skops.io.get_untrusted_types(file=path),
    }


def requirements() -> str:
    return "".join(f"{name}=={metadata.version(name)}\n" for name in SERVING_PACKAGES)


def context_digest(context: Path, base: str) -> str:
    """sha256 over every file's path and bytes, plus the base image: the image's input identity."""
    digest = hashlib.sha256(f"base={base}\n".encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(path.relative_to(context).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
