"""train.yml retrains exactly when something the model's bytes depend on changes.

The list is derived, not hand-copied: the source dependencies dvc.yaml declares, every `ml` module the
stages' commands import (transitively, read from the code), and the files that decide how the job runs.
Each must be matched by one of train.yml's `paths:` filters, and every tracked file a filter matches must be
on that list (a wider filter retrains on the edge for nothing). The steps reach the machinery through
`ml.stepkit` only (DESIGN §5), so the filter lists the few `ml` modules the stages really import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
# Besides the code: what configures the run (settings, DVC remote, environment, the step graph).
RUN_CONFIG = ["params.yaml", "dvc.yaml", "data.dvc", "requirements.lock", "pyproject.toml", ".dvc/config"]
RUN_CONFIG_GLOBS = ["components/*.yml", "pipelines/*.yml", "edge-train.toml"]


def module_file(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_ml_modules(start: str) -> set[str]:
    """`start` and every `ml.*` module it imports, directly or not (imports inside functions too)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        path = module_file(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        parts = name.split(".")
        for package in (".".join(parts[:i]) for i in range(1, len(parts))):
            todo.append(package)  # importing a.b.c runs a/__init__ and a/b/__init__
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo.append(node.module)
                todo += [f"{node.module}.{alias.name}" for alias in node.names]
    return {name for name in seen if name == "ml" or name.startswith("ml.")}


def model_dependencies() -> set[str]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values()
    outputs = {next(iter(o)) if isinstance(o, dict) else o for s in stages for o in s.get("outs", [])}
    files = {d for s in stages for d in s.get("deps", []) if d not in outputs and not d.startswith("data/")}
    commands = [stage["cmd"] for stage in stages]
    components = sorted((ROOT / "components").glob("*.yml"))
    commands += [yaml.safe_load(c.read_text()).get("command", "") for c in components]
    # setup.py's .pth line: every Python process of the job loads the storage pin at startup.
    commands += ["python -m ml.storage.autopin"]
    for command in commands:
        for module in re.findall(r"python -m ([\w.]+)", command):
            for name in imported_ml_modules(module):
                files.add(str(module_file(name).relative_to(ROOT)))  # type: ignore[union-attr]
    return files | set(RUN_CONFIG) | set(RUN_CONFIG_GLOBS)


def github_glob(pattern: str) -> re.Pattern[str]:
    """GitHub's filter patterns: `*` stays inside a folder, `**` crosses folders."""
    regex = re.escape(pattern).replace(r"\*\*/", "\1").replace(r"\*\*", "\0").replace(r"\*", "[^/]*")
    regex = regex.replace("\1", "(?:.*/)?").replace("\0", ".*")
    return re.compile(f"^{regex}$")


def triggers(path: str, patterns: list[str]) -> bool:
    """GitHub's rule: the last pattern that matches decides; `!pattern` excludes."""
    decision = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if github_glob(pattern.removeprefix("!")).match(path):
            decision = not negated
    return decision


def filters() -> list[str]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "train.yml").read_text())
    return workflow[True]["push"]["paths"]


def test_every_file_the_model_depends_on_triggers_training() -> None:
    missing = sorted(f for f in model_dependencies() if "*" not in f and not triggers(f, filters()))
    assert not missing, f"train.yml does not retrain when these change: {missing}"


def test_every_tracked_file_a_filter_matches_is_a_dependency() -> None:
    import subprocess

    needed = model_dependencies()
    needed_patterns = [github_glob(d) for d in needed]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    extra = sorted(
        f
        for f in tracked.stdout.split()
        if triggers(f, filters()) and not any(n.match(f) for n in needed_patterns)
    )
    assert not extra, f"train.yml retrains for files the model does not depend on: {extra}"


def test_the_filter_semantics_are_githubs() -> None:
    assert triggers("ml/a/b.py", ["ml/**/*.py"]) and triggers("ml/b.py", ["ml/**/*.py"])
    assert not triggers("ml/b.py", ["ml/**/*.py", "!ml/b.py"])
    assert not triggers("components/x/y.yml", ["components/*.yml"])


def test_the_derivation_sees_the_modules_the_issue_found_missing() -> None:
    found = model_dependencies()
    assert {"ml/modelio.py", "ml/atomic.py"} <= found, sorted(found)
