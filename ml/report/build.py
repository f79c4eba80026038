"""Gather everything the report shows, comparing the working tree (after a run) with a base git ref."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from ml.data.restore import stand_in_reason
from ml.errors import EdgeTrainError
from ml.params import GateRule, load_params, read_params_file
from ml.paths import METRICS_FILE, PARAMS_FILE, PLOTS_DIR
from ml.report import gitrev
from ml.report.base_metrics import comparable, find_base_metrics
from ml.report.data import DataChange, data_changes
from ml.report.diff import Change, as_number, diff
from ml.report.gate import Verdict, evaluate
from ml.steps.schema import SCHEMA_PATH

RanOn = Literal["local", "edge"]
ROC_FILE = f"{PLOTS_DIR}/roc.json"


@dataclass(frozen=True)
class Report:
    base_ref: str
    base_commit: str | None
    head: str
    ran_on: RanOn
    base_metrics_source: str
    metrics: list[Change]
    params: list[Change]
    verdicts: list[Verdict]
    data: list[DataChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    history: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    roc_base: list[dict] | None = None
    roc_head: list[dict] | None = None
    task: str = ""

    @property
    def passed(self) -> bool:
        return all(verdict.passed for verdict in self.verdicts)


def build_report(root: Path, base_ref: str, ran_on: RanOn = "local", history_length: int = 8) -> Report:
    head_metrics = _read_json(root / METRICS_FILE)
    if not isinstance(head_metrics, dict):
        raise EdgeTrainError(
            f"{root / METRICS_FILE}: no metrics from this run",
            hint="run `edge-train run` (or `edge-train submit --wait`) before the report",
        )
    task = _task(root / SCHEMA_PATH)
    rules = load_params(root).gate or _default_gate(task)
    commit = gitrev.resolve(root, base_ref)
    notes: list[str] = []
    if commit is None:
        notes.append(
            f"Base `{base_ref}` does not exist in this clone: nothing to compare with "
            "(in Actions, check out with `fetch-depth: 0`; locally, `git fetch origin`)."
        )
    base_task = _task_text(gitrev.show(root, commit, SCHEMA_PATH)) if commit else None
    if base_task and task and base_task != task:
        notes.append(
            f"Base and this change differ in task ({base_task} → {task}): their metrics measure different "
            "things, so deltas and the gate's `max_drop` compare unlike with unlike."
        )
    base = find_base_metrics(root, commit)
    not_comparable = comparable(base, ran_on, _head_data_hash(root))
    if not_comparable:
        notes.append(f"Not like for like: {not_comparable}.")
    stand_in = stand_in_reason(root)
    if stand_in:
        notes.append(
            f"Trained on synthetic rows of the schema ({stand_in}): the metrics say nothing about the data, "
            "so the gate is not judged."
        )
    base_params = _base_params(root, commit, notes)
    head_params = read_params_file(root / PARAMS_FILE)
    params = [c for c in diff(base_params or {}, head_params) if c.kind != "unchanged"]
    if commit is not None and any(c.key.startswith("gate.") for c in params):
        notes.append("This change edits the quality gate itself: review the `gate.*` rows below.")
    return Report(
        base_ref=base_ref,
        base_commit=commit,
        head=gitrev.head_label(root),
        ran_on=ran_on,
        base_metrics_source=base.source,
        metrics=diff(base.metrics or {}, head_metrics),
        params=params if base_params is not None else [],
        verdicts=[Verdict(name, True, ("not judged: synthetic stand-in rows",)) for name in sorted(rules)]
        if stand_in
        else evaluate(rules, base.metrics, head_metrics, not_comparable),
        data=_data(root, commit, notes),
        notes=notes,
        history=_history(root, commit, sorted(rules), head_metrics, history_length),
        roc_base=_roc(_json_at(root, commit, ROC_FILE)),
        roc_head=_roc(_read_json(root / ROC_FILE)),
        task=task,
    )


def _head_data_hash(root: Path) -> str | None:
    try:
        data_dvc = yaml.safe_load((root / "data.dvc").read_text())
        return str(data_dvc["outs"][0]["md5"]).removesuffix(".dir")
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def _task(path: Path) -> str:
    try:
        return _task_text(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ""


def _task_text(text: str | None) -> str:
    """The task a schema.yaml text names, or "" when there is none to read (an old base, a broken file)."""
    try:
        loaded = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return ""
    return str(loaded.get("task", "")) if isinstance(loaded, dict) else ""


def _default_gate(task: str) -> dict[str, GateRule]:
    """The task's default gate (ml/steps/schema.py) when params.yaml has no `gate:` section."""
    from ml.steps.schema import DEFAULT_GATE

    return {name: GateRule(**rule) for name, rule in DEFAULT_GATE.get(task, {}).items()}


def _base_params(root: Path, commit: str | None, notes: list[str]) -> dict | None:
    if commit is None:
        return None
    text = gitrev.show(root, commit, PARAMS_FILE)
    try:
        loaded = yaml.safe_load(text) if text is not None else None
    except yaml.YAMLError:
        loaded = None
    if not isinstance(loaded, dict):
        notes.append(f"No readable `{PARAMS_FILE}` at `{commit[:7]}`: params are not compared.")
        return None
    return loaded


def _data(root: Path, commit: str | None, notes: list[str]) -> list[DataChange]:
    if commit is None:
        return []
    from ml.dvc import open_repo

    try:
        with open_repo(root) as repo:
            return data_changes(repo, root, commit)
    except EdgeTrainError as exc:
        notes.append(f"Data not compared: {exc.message}")
        return []


def _history(
    root: Path, commit: str | None, metrics: list[str], head: dict, length: int
) -> dict[str, list[tuple[str, float]]]:
    """Per gated metric: its value at the last commits on the base that changed the metrics, then this run."""
    if commit is None or not metrics:
        return {}
    revisions = gitrev.history(root, commit, METRICS_FILE, length)
    snapshots = [(rev[:7], _json_at(root, rev, METRICS_FILE)) for rev in revisions]
    charts: dict[str, list[tuple[str, float]]] = {}
    for metric in metrics:
        points = [
            (label, value)
            for label, snap in snapshots
            if isinstance(snap, dict) and (value := as_number(snap.get(metric))) is not None
        ]
        if (value := as_number(head.get(metric))) is not None:
            points.append(("this PR", value))
        if len(points) >= 2:
            charts[metric] = points
    return charts


def _roc(curve: object) -> list[dict] | None:
    """ROC points as the evaluate step writes them, else None: a chart never crashes a report."""

    def is_point(p: object) -> bool:
        return isinstance(p, dict) and None not in (as_number(p.get("fpr")), as_number(p.get("tpr")))

    return curve if isinstance(curve, list) and curve and all(map(is_point, curve)) else None


def _json_at(root: Path, commit: str | None, path: str) -> object:
    text = gitrev.show(root, commit, path) if commit else None
    try:
        return json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        return None


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
