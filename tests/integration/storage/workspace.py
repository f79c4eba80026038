"""Git + DVC repositories whose remote is a container of the "ASH" stack, as the storage tests use them."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.servers import ACCOUNT_KEY, Stack

VENV_BIN = Path(sys.executable).parent
ASH_TOML = '[storage]\nremote = "ash"\ncontainer = "{container}"\nblob_endpoint = "{endpoint}"\n{extra}'


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: our venv's tools first, no pin overrides, no Azure credentials."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EDGE_TRAIN_", "AZURE_STORAGE_")) and k != "EDGE_TRAIN_ROOT"
    }
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["DVC_NO_ANALYTICS"] = "1"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "test"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "test@example.invalid"
    env.update(extra)
    return env


@dataclass
class Workspace:
    """A git + DVC repository (what a user clones) wired to a container of the stack."""

    root: Path
    container: str
    stack: Stack

    def run(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(args),
            cwd=self.root,
            env=clean_env(**env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def write_settings(self, extra: str = "") -> None:
        (self.root / "edge-train.toml").write_text(
            ASH_TOML.format(container=self.container, endpoint=self.stack.blob_endpoint, extra=extra)
        )

    def dvc_add(self, target: str = "data") -> None:
        """`dvc add` in-process: set-up is not what these tests check, and each DVC start costs seconds."""
        from dvc.repo import Repo

        with contextlib.chdir(self.root), Repo(str(self.root)) as repo:
            repo.add(target)


def make_workspace(
    root: Path, stack: Stack, container: str, monkeypatch: pytest.MonkeyPatch, settings_extra: str = ""
) -> Workspace:
    """A fresh repository whose default remote is `container` on the stack, set up by `data remote set`."""
    from dvc.repo import Repo

    from ml.cli import app, run_app

    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root, container, stack)
    ws.run("git", "init", "-q")
    Repo.init(str(root)).close()
    (root / "params.yaml").write_text("{}\n")
    ws.write_settings(settings_extra)
    with monkeypatch.context() as patch:
        patch.setenv("EDGE_TRAIN_ROOT", str(root))
        patch.setenv("AZURE_STORAGE_KEY", ACCOUNT_KEY)
        assert run_app(app, ["data", "remote", "set", "--credential", "key"]) == 0
    return ws
