"""`edge-train init --data FILE --label COLUMN`: make a fork train on its own table, in one command.

Order matters for "state changes only on success": the file is read and every decision checked first
(`infer`); only then are the data, the schema, the names and the gate written, each atomically, and the data
put under DVC. Running it again with the same inputs rewrites nothing.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import yaml

from ml.atomic import atomic_write_text
from ml.data.infer import Decision, infer
from ml.errors import EdgeTrainError
from ml.paths import DATA_DIR, PARAMS_FILE, PIPELINE_FILE, RAW_DATA_DIR, SETTINGS_FILE
from ml.steps.schema import DEFAULT_GATE, SCHEMA_PATH, Schema

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")
DATA_DVC = "data.dvc"


def adopt(
    root: Path,
    source: Path,
    label: str,
    task: str = "auto",
    model_name: str = "",
    list_categories: bool = True,
) -> Decision:
    """Read, decide, then write; returns what was decided (the CLI prints it)."""
    if model_name and not MODEL_NAME.match(model_name):
        raise EdgeTrainError(
            f"--model-name {model_name!r}: use 2-63 lowercase letters, digits and dashes",
            hint="it names the registered model, the MLflow experiment, the image and the version tags",
        )
    decision = infer(source.resolve(), label, task, list_categories=list_categories)
    written = [
        *_place_data(root, source.resolve()),
        *_write_if_changed(root / SCHEMA_PATH, schema_text(decision.schema)),
        *_write_if_changed(root / PARAMS_FILE, with_gate(root / PARAMS_FILE, decision.schema.task)),
    ]
    if model_name:
        written += _name(root, model_name)
    written += _compile(root)
    written += _track(root)
    decision.warnings.extend([] if written else ["nothing changed: this table was already adopted"])
    return decision


def schema_text(schema: Schema) -> str:
    header = (
        "# What the training data looks like: the steps read it, `edge-train init --data` writes it.\n"
        "# Edit it to override what init inferred (see docs/own-data.md):\n"
        "#   task: binary | multiclass | regression; classes: the label's values (binary: 2nd is positive)\n"
        "#   features: column -> numeric | boolean | categorical (unseen categories score as none known)\n"
    )
    return header + yaml.safe_dump(schema.as_yaml(), sort_keys=False, allow_unicode=True, width=110)


def with_gate(params_file: Path, task: str) -> str:
    """params.yaml with its `gate:` set to the task's default (the example's gate names binary metrics)."""
    text = params_file.read_text(encoding="utf-8")
    rules = "".join(
        f"  {metric}: {{{', '.join(f'{k}: {v}' for k, v in rule.items())}}}\n"
        for metric, rule in DEFAULT_GATE[task].items()
    )
    block = re.compile(r"(?m)^gate:[^\n]*\n(?:[ \t]+[^\n]*\n|[ \t]*\n)*")
    if block.search(text):
        return block.sub(lambda _: f"gate:\n{rules}", text, count=1)
    return text.rstrip("\n") + f"\ngate:\n{rules}"


def _place_data(root: Path, source: Path) -> list[str]:
    """data/raw holds exactly the adopted file (the example's export goes; DVC's cache still has it)."""
    raw = root / RAW_DATA_DIR
    target = raw / source.name
    existing = sorted(p for p in raw.rglob("*") if p.is_file()) if raw.is_dir() else []
    if existing == [target] and _digest(target) == _digest(source):
        return []
    staging = root / DATA_DIR / ".raw.adopting"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copy2(source, staging / source.name)
        old = root / DATA_DIR / ".raw.old"
        shutil.rmtree(old, ignore_errors=True)
        if raw.exists():
            raw.replace(old)
        staging.replace(raw)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [f"{RAW_DATA_DIR}/{source.name}"]


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_if_changed(path: Path, text: str) -> list[str]:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return []
    atomic_write_text(path, text)
    return [path.name if path.parent.name != "steps" else SCHEMA_PATH]


def _name(root: Path, model_name: str) -> list[str]:
    """The registered model, the MLflow/Azure ML experiment and the image carry the fork's name."""
    from ml.azure.init import merge_settings, to_toml

    raw = merge_settings(root, {"model": {"name": model_name}, "image": {"name": f"edge-train/{model_name}"}})
    written = _write_if_changed(root / SETTINGS_FILE, to_toml(raw))
    pipeline = root / PIPELINE_FILE
    text = pipeline.read_text(encoding="utf-8")
    renamed = re.sub(r"(?m)^experiment_name: .*$", f"experiment_name: {model_name}", text)
    return written + (_write_if_changed(pipeline, renamed) and [PIPELINE_FILE])


def _compile(root: Path) -> list[str]:
    """dvc.yaml wires the task's plots: written here, so the commit holds it and the first `make run` leaves
    the tree clean (a dirty dvc.yaml would keep that run from tagging a version)."""
    from ml.paths import DVC_FILE
    from ml.pipeline.sync import write_compiled

    return [DVC_FILE] if write_compiled(root) else []


def _track(root: Path) -> list[str]:
    """`dvc add data` (rewrites data.dvc only when the data changed), then push to the local remote so a
    fresh clone of this machine's checkout can pull it."""
    from ml.config import load_settings
    from ml.dvc import open_repo

    before = (root / DATA_DVC).read_text() if (root / DATA_DVC).is_file() else ""
    with open_repo(root) as repo:
        repo.add(str(root / DATA_DIR))
        local = load_settings(root).data.local_remote
        if local in repo.config.get("remote", {}):
            repo.push(targets=[str(root / DATA_DVC)], remote=local)
    return [DATA_DVC] if (root / DATA_DVC).read_text() != before else []
