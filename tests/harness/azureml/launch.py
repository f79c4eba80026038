"""Run inside the node's private mount namespace: make the mounts, then exec the node's command.

Started by `sandbox.run_in_sandbox` as `unshare --mount ... python launch.py SPEC.json`; standard library
only, because it runs with the harness's interpreter before the node's environment exists for it. The mounts
vanish with the namespace when the command ends; the backing folders (the "datastore") keep what was written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(f"emulator: mount {' '.join(args)} failed: {result.stderr.strip()}\n")
        sys.exit(125)


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    os.unlink(spec_path)  # it holds the node's environment (tokens): gone before the command starts
    for mount in spec["mounts"]:
        _mount("--bind", mount["source"], mount["target"])
        if mount["read_only"]:
            _mount("-o", "remount,bind,ro", mount["target"])
    if spec.get("drop_to"):
        uid, gid = spec["drop_to"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.chdir(spec["cwd"])
    shell = shutil.which("bash") or "/bin/sh"
    os.execve(shell, [shell, "-c", spec["command"]], spec["env"])


if __name__ == "__main__":
    main(sys.argv[1])
