"""Where a replay runs: an unprivileged user, a bare "GitHub" origin and a workspace clone of it.

GitHub-hosted runners are not root: they run as the user `runner`, which has a subordinate id range (rootless
buildah needs one). When the tests run as root (this lab, a container), every step runs as `runner` if this
machine has that user (`make test` creates it, with its id range, when run as root: tests/tools/install.sh),
else as `nobody`, which has no id range, so an image build step fails; steps run through `setpriv` (no
capabilities, no supplementary groups). A non-root user runs the steps as itself. Each
test session gets its own sandbox (`Sandbox.create()`: a fresh directory from `tempfile.mkdtemp`, removed by
`remove()`), so two test runs at once (a full CI run and a developer's) never share a workspace, an origin or
a fake workspace state. Within a session the sandbox is reused so the Install step pays for a virtual
environment once: between replays the workspace is reset to a fresh clone (`git clean -ffdx` keeps only
`.venv/`, which the workflow's own `make .venv/...` then brings up to date). Only the package caches are
shared between sessions (one directory per user, `UV_CACHE_DIR` and `PRE_COMMIT_HOME`): uv's cache is
append-only and safe for concurrent readers and writers, and pre-commit takes a lock on its store.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

UNPRIVILEGED = ("runner", "nobody")  # the first that exists


def _user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


@dataclass(frozen=True)
class Sandbox:
    base: Path
    uid: int
    gid: int

    @classmethod
    def create(cls) -> Sandbox:
        """A new sandbox of its own (remove it with `remove()`), run as the unprivileged user."""
        if os.geteuid() == 0:
            user = next(u for name in UNPRIVILEGED if (u := _user(name)) is not None)
            uid, gid = user.pw_uid, user.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
        base = Path(tempfile.mkdtemp(prefix="edge-train-replay-"))
        base.chmod(0o755)
        box = cls(base, uid, gid)
        box.cache.mkdir(mode=0o700, exist_ok=True)
        if box.is_root_lab:
            os.chown(box.cache, uid, gid)  # not recursive: the caches' files are already the user's
        for folder in (box.home, box.tool_cache, box.temp):
            folder.mkdir()
            box.own(folder)
        return box

    def remove(self) -> None:
        """Delete the sandbox (the shared package caches stay)."""
        self._remove_buildah_storage()
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def cache(self) -> Path:
        """Package caches shared by this user's sandboxes (uv, pre-commit): safe for concurrent use."""
        return Path(tempfile.gettempdir()) / f"edge-train-replay-cache-{self.uid}"

    @property
    def cache_env(self) -> dict[str, str]:
        return {"UV_CACHE_DIR": str(self.cache / "uv"), "PRE_COMMIT_HOME": str(self.cache / "pre-commit")}

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def origin(self) -> Path:
        return self.base / "origin.git"

    @property
    def workspace(self) -> Path:
        return self.base / "work" / "edge-train"

    @property
    def tool_cache(self) -> Path:
        return self.base / "toolcache"

    @property
    def temp(self) -> Path:
        return self.base / "runner-temp"

    @property
    def is_root_lab(self) -> bool:
        return os.geteuid() == 0

    def own(self, path: Path) -> None:
        if self.is_root_lab:
            subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", str(path)], check=True)

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` as the unprivileged user (through setpriv when we are root)."""
        if not self.is_root_lab:
            return list(argv)
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=-all",  # the bounding set stays: setuid newuidmap must work, as on a runner
            "--",
            *argv,
        ]

    def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        timeout: float = 1800,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(argv),
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr[-2000:]}")
        return result

    def _git_env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "GIT_TERMINAL_PROMPT": "0",
            "LANG": "C.UTF-8",
        }

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return self.run(["git", *args], self._git_env(), cwd or self.base).stdout.strip()

    def publish(self, checkout: Path, refs: Mapping[str, str]) -> None:
        """Make the bare origin hold `refs` (ref name → commit of `checkout`), like the GitHub repository.

        Tags a previous replay pushed stay: a replay that runs twice sees its own earlier releases.
        """
        if not self.origin.exists():
            subprocess.run(["git", "init", "-q", "--bare", str(self.origin)], check=True)
        if self.is_root_lab:  # git refuses to push into a repository another user owns: take it back a moment
            subprocess.run(["chown", "-R", "0:0", str(self.origin)], check=True)
        for ref, commit in refs.items():
            subprocess.run(
                ["git", "push", "-q", "--force", str(self.origin), f"{commit}:{ref}"],
                cwd=checkout,
                check=True,
                capture_output=True,
            )
        self.own(self.origin)

    def reset_origin(self) -> None:
        if self.origin.exists():
            shutil.rmtree(self.origin)

    def clean_workspace(self, keep: Sequence[str] = (".venv",)) -> None:
        """A fresh clone's tree: every file not in git removed, except the virtual environment."""
        if not (self.workspace / ".git").is_dir():
            return
        if self.run(
            ["git", "rev-parse", "-q", "--verify", "HEAD"], self._git_env(), self.workspace, check=False
        ).returncode:
            return  # nothing checked out yet
        self._remove_buildah_storage()
        excludes = [arg for name in keep for arg in ("-e", name)]
        self.git("clean", "-ffdxq", *excludes, cwd=self.workspace)
        self.git("reset", "-q", "--hard", cwd=self.workspace)
        for tag in self.git("tag", "--list", cwd=self.workspace).split():
            self.git("tag", "-d", tag, cwd=self.workspace)

    def _remove_buildah_storage(self) -> None:
        """Rootless buildah's files belong to sub-ids: only root or the user's namespace may delete them."""
        storage = self.workspace / ".edge-train" / "buildah"
        if not storage.exists():
            return
        if self.is_root_lab:
            shutil.rmtree(storage)
        else:
            env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home)}
            self.run(["buildah", "unshare", "rm", "-rf", str(storage)], env, self.base)
