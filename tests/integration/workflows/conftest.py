"""One replay sandbox per test session, removed at its end: concurrent test runs never share one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.workflow_replay.sandbox import Sandbox


@pytest.fixture(scope="session")
def replay_sandbox() -> Iterator[Sandbox]:
    box = Sandbox.create()
    try:
        yield box
    finally:
        box.remove()
