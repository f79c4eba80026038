"""Two test runs at once (CI's and a developer's) each replay the workflows in a sandbox of their own."""

from __future__ import annotations

from pathlib import Path

from tests.harness.workflow_replay.sandbox import Sandbox


def test_each_session_gets_its_own_sandbox_and_leaves_nothing_behind() -> None:
    first, second = Sandbox.create(), Sandbox.create()
    try:
        assert first.base != second.base
        assert first.workspace != second.workspace and first.origin != second.origin
        assert first.home.is_dir() and second.home.is_dir()
    finally:
        first.remove()
        second.remove()
    assert not first.base.exists() and not second.base.exists()


def test_only_the_package_caches_are_shared() -> None:
    box = Sandbox.create()
    try:
        assert all(box.cache in path.parents for path in map(Path, box.cache_env.values()))
        assert box.base not in box.cache.parents
    finally:
        box.remove()
    assert box.cache.is_dir(), "the caches outlive a session"
