"""The code passes the ruff hooks the pull-request check runs, so `make test` finds what the PR would.

The PR workflow's pre-commit step fails on any file its ruff hooks would rewrite; without this test that
was first seen after a 30-minute slow suite. The venv's ruff is the one the dev lock pins, and the hook's
version range is checked to hold it, so both run the same rules.
"""

import subprocess
import sys
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

REPO_ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUFF), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_the_lint_hook_would_change_nothing() -> None:
    result = _ruff("check", "--force-exclude", "--no-fix", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_format_hook_would_change_nothing() -> None:
    result = _ruff("format", "--force-exclude", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hooks_ruff_range_holds_the_locked_ruff() -> None:
    hooks = [
        h
        for repo in yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())["repos"]
        for h in repo["hooks"]
        if h["id"].startswith("ruff")
    ]
    locked = _ruff("--version").stdout.split()[1]
    assert hooks
    for hook in hooks:
        (requirement,) = [d for d in hook["additional_dependencies"] if d.startswith("ruff")]
        assert locked in SpecifierSet(requirement.removeprefix("ruff")), (hook["id"], requirement, locked)
