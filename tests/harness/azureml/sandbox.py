"""Run a node's command where its outputs are mount points, as on the cluster.

On Azure ML an output folder is a mount made by the data runtime: writing into it works, renaming or removing
the folder itself fails with EBUSY. Each node runs in its own mount namespace (`unshare --mount`; as a normal
user `unshare --user --map-root-user --mount`, where user namespaces are allowed) and gets a bind mount of a
backing folder at each output path, and a read-only bind mount at each input bound to an upstream output. The
mounts disappear with the namespace; nothing is left mounted on the host.

GitHub-hosted runners are not root and Ubuntu 24.04 restricts user namespaces, but they allow passwordless
sudo: there the namespace is made with `sudo -n unshare --mount`, and the launcher drops back to the calling
user before running the command. Where none of these works `sandbox_prefix()` raises SandboxUnavailable;
tests skip on a user's machine and fail in CI.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).with_name("launch.py")


class SandboxUnavailable(RuntimeError):
    """This machine cannot make private mount namespaces (not root, and no user namespaces)."""


@dataclass(frozen=True)
class Mount:
    source: Path
    target: Path
    read_only: bool = False


@dataclass(frozen=True)
class Finished:
    exit_code: int
    stdout: Path
    stderr: Path
    timed_out: bool = False

    def tail(self, lines: int = 20, stream: str = "stderr") -> str:
        path = self.stderr if stream == "stderr" else self.stdout
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.strip().splitlines()[-lines:])


def _works(prefix: list[str]) -> bool:
    try:
        return subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def sandbox_prefix() -> tuple[str, ...]:
    """The `unshare` command that gives a private mount namespace here."""
    mount_ns = ["unshare", "--mount", "--propagation", "private"]
    candidates = [mount_ns] if os.geteuid() == 0 else []
    candidates.append(["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"])
    if os.geteuid() != 0:
        candidates.append(["sudo", "-n", *mount_ns])
    for prefix in candidates:
        if _works(prefix):
            return tuple(prefix)
    raise SandboxUnavailable(
        "cannot make a private mount namespace (needs root, or user namespaces: "
        "sysctl kernel.unprivileged_userns_clone=1 / kernel.apparmor_restrict_unprivileged_userns=0)"
    )


def run_in_sandbox(
    command: str,
    *,
    cwd: Path,
    env: dict[str, str],
    mounts: list[Mount],
    logs: Path,
    timeout: float = 900,
) -> Finished:
    """Run `command` with bash in `cwd`, environment exactly `env`, the mounts in place; logs in `logs`."""
    prefix = sandbox_prefix()
    for mount in mounts:
        mount.target.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    spec = {
        # under sudo the launcher runs as root: it makes the mounts, then becomes this user again
        "drop_to": [os.getuid(), os.getgid()] if prefix[0] == "sudo" else None,
        "command": command,
        "cwd": str(cwd),
        "env": env,
        "mounts": [
            {"source": str(m.source), "target": str(m.target), "read_only": m.read_only} for m in mounts
        ],
    }
    handle, spec_path = tempfile.mkstemp(prefix="node-", suffix=".json", dir=logs)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(spec, out)
    stdout, stderr = logs / "std_out.txt", logs / "std_err.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-I", str(LAUNCHER), spec_path],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            return Finished(process.wait(timeout=timeout), stdout, stderr)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return Finished(-9, stdout, stderr, timed_out=True)
        finally:
            Path(spec_path).unlink(missing_ok=True)
