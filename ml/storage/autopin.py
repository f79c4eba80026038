"""Apply `ml.storage.pin` whenever any process imports adlfs: plain `dvc push` by a user or CI included.

The package installs `edge_train_storage.pth` into site-packages (see setup.py); Python runs its one line at
start-up, which calls `install()`. That only adds a meta-path finder: nothing is imported or read until a
process imports `adlfs.spec`, and then the finder patches the module right after it executes, before any
client exists. Set `EDGE_TRAIN_STORAGE_PIN=off` to leave adlfs untouched (docs/data.md).
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import PathFinder

# This module runs at every Python start-up in the venv (the .pth line), so it imports nothing it can avoid:
# importlib.abc alone costs ~20 ms and typing ~5 ms. Type checkers read the names below; Python never does.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

TARGET = "adlfs.spec"
ENV_SWITCH = "EDGE_TRAIN_STORAGE_PIN"


class _PatchingLoader:
    """A duck-typed `importlib.abc.Loader` (not subclassed: see the imports)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.wrapped.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.wrapped.exec_module(module)
        try:
            from ml.storage.pin import patch_adlfs

            patch_adlfs(module)
        except Exception as exc:  # never break DVC because of the pin: say so and go on unpinned
            sys.stderr.write(f"edge-train: could not pin the storage API version: {exc!r}\n")


class AdlfsPinFinder:
    """Finds `adlfs.spec` as the path finder would, and wraps its loader with the patch (a duck-typed
    `importlib.abc.MetaPathFinder`)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != TARGET:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader)
        return spec


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")


def install_at_startup() -> None:
    """The .pth line: install, then forget the `ml` modules this import loaded.

    Site-packages' .pth files run before the working directory joins sys.path, so importing this module binds
    `ml` to the installed copy. Left in sys.modules, that binding would make `python -m ml.steps.train` in a
    second checkout run the first checkout's code. Forgetting it lets `ml` be found again as usual; the
    finder keeps working (its class holds its own globals).
    """
    install()
    for name in ("ml.storage.autopin", "ml.storage", "ml"):
        sys.modules.pop(name, None)


def install() -> None:
    """Register the finder once; patch right away if adlfs.spec is already imported."""
    # By name, not isinstance: after install_at_startup a later import of this module defines a new class,
    # and the finder installed at start-up must still count.
    if not enabled() or any(type(finder).__name__ == "AdlfsPinFinder" for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, AdlfsPinFinder())
    loaded = sys.modules.get(TARGET)
    if loaded is not None:
        from ml.storage.pin import patch_adlfs

        patch_adlfs(loaded)
