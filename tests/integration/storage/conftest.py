"""Fixtures: Azurite behind the ASH gate, and a git + DVC repository whose remote is that "ASH" account."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.harness.servers import Stack, running_stack
from tests.integration.storage.workspace import Workspace, make_workspace


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_tool("azurite-blob", "bash tests/tools/install.sh (npm azurite@3.35.0)")
    with running_stack(tmp_path_factory.mktemp("ash")) as running:
        yield running


@pytest.fixture
def workspace(tmp_path: Path, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    return make_workspace(tmp_path / "repo", stack, f"c{uuid.uuid4().hex[:12]}", monkeypatch)
