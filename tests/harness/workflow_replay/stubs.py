"""Stand-ins for `uses:` actions (what each leaves behind) and the seam for the edge job.

- `actions/checkout`: the workspace is a clone of the sandbox's origin at the event's commit; with
  `fetch-depth: 0` every branch (as `origin/<branch>`) and tag too, otherwise only that commit. The clone's
  `origin` is the sandbox's bare repository (a GitHub remote cannot be reached from a test).
- `actions/setup-python`: the chosen interpreter on PATH as `python`, `python3` and `python3.11`.
- `azure/login` (OIDC): fails as the action does without `client-id`/`tenant-id`/`subscription-id` or without
  an OIDC token (forks, `id-token: write` missing); otherwise leaves a signed-in `az` CLI, whose
  `account get-access-token` answers in the documented JSON shape.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.harness.workflow_replay.runner import Replay, StepContext


class ActionFailed(RuntimeError):
    pass


def checkout(replay: Replay, with_: Mapping[str, str], env: Mapping[str, str]) -> tuple[list[str], dict]:
    box, event = replay.sandbox, replay.event
    ws = box.workspace
    if not (ws / ".git").is_dir():
        ws.parent.mkdir(parents=True, exist_ok=True)
        box.own(ws.parent)
        box.git("init", "-q", str(ws))
        box.git("remote", "add", "origin", str(box.origin), cwd=ws)
    box.clean_workspace()  # what the last replay left, before this checkout fetches
    for ref in box.git("for-each-ref", "--format=%(refname)", "refs/remotes", "refs/tags", cwd=ws).split():
        box.git("update-ref", "-d", ref, cwd=ws)
    if str(with_.get("fetch-depth", "1")) == "0":
        box.git("fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*", cwd=ws)
    box.git("fetch", "-q", "--no-tags", "origin", f"+{event.ref}:refs/remotes/origin/checkout-target", cwd=ws)
    box.git("checkout", "-q", "--force", "--detach", event.sha, cwd=ws)
    if event.ref.startswith("refs/heads/"):
        branch = event.ref.removeprefix("refs/heads/")
        box.git("checkout", "-q", "--force", "-B", branch, event.sha, cwd=ws)
    if str(with_.get("persist-credentials", "true")).lower() != "false":
        box.git("config", "http.https://github.com/.extraheader", "AUTHORIZATION: basic ***", cwd=ws)
    for key, value in (("user.name", "github-actions[bot]"), ("user.email", "bot@users.noreply.github.com")):
        box.git("config", key, value, cwd=ws)
    return [], {}


def setup_python(replay: Replay, with_: Mapping[str, str], env: Mapping[str, str]) -> tuple[list[str], dict]:
    wanted = with_.get("python-version", "")
    version = subprocess.run(
        [replay.interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if wanted and not version.startswith(wanted):
        raise ActionFailed(f"setup-python: asked for {wanted}, the replay's interpreter is {version}")
    bin_dir = replay.sandbox.tool_cache / "Python" / version / "x64" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3", f"python{version}"):
        link = bin_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(replay.interpreter)
    replay.sandbox.own(replay.sandbox.tool_cache)
    return [str(bin_dir)], {"pythonLocation": str(bin_dir.parent)}


FAKE_AZ = """#!/bin/sh
# The Azure CLI as azure/login leaves it: signed in; answers `account get-access-token` (documented shape).
case "$*" in
  *"account get-access-token"*)
    printf '{"accessToken": "replay-arm-token", "expiresOn": "2099-01-01 00:00:00.000000",
      "expires_on": 4070908800, "subscription": "%s", "tenant": "%s", "tokenType": "Bearer"}\\n' \\
      "$AZURE_SUBSCRIPTION_ID" "$AZURE_TENANT_ID";;
  *"account show"*) printf '{"id": "%s", "tenantId": "%s"}\\n' "$AZURE_SUBSCRIPTION_ID" "$AZURE_TENANT_ID";;
  *) echo "az (replay stub): $* is not emulated" >&2; exit 2;;
esac
"""


def azure_login(replay: Replay, with_: Mapping[str, str], env: Mapping[str, str]) -> tuple[list[str], dict]:
    missing = [key for key in ("client-id", "tenant-id", "subscription-id") if not with_.get(key)]
    if missing:
        raise ActionFailed(f"azure/login: {', '.join(missing)} not supplied (repository variables unset?)")
    if not env.get("ACTIONS_ID_TOKEN_REQUEST_URL"):
        raise ActionFailed(
            "azure/login: failed to fetch the federated token (no OIDC: id-token: write, fork?)"
        )
    bin_dir = replay.sandbox.tool_cache / "azure-cli" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    az = bin_dir / "az"
    az.write_text(FAKE_AZ)
    az.chmod(az.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    replay.sandbox.own(replay.sandbox.tool_cache)
    return [str(bin_dir)], {
        "AZURE_SUBSCRIPTION_ID": with_["subscription-id"],
        "AZURE_TENANT_ID": with_["tenant-id"],
    }


ACTIONS: dict[str, Callable[..., tuple[list[str], dict]]] = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "azure/login": azure_login,
}


# --- the edge job's seam ------------------------------------------------------------------------------------
def edge_job_stub(
    edge_checkout: Path, returned: Mapping[str, str]
) -> Callable[[StepContext], tuple[int, str]]:
    """A quick stand-in for `edge-train submit --wait` (the pull-request replays; the merge replay runs the
    job emulator instead: tests/integration/workflows/replay.py `emulated_edge_seams`).

    SEAM: the real step submits the pipeline to Azure ML and downloads the returned outputs. This stand-in
    checks the step still calls `edge-train submit --wait`, then copies only the returned outputs
    (`returned`: local path → path in `edge_checkout`, where the pipeline ran as the edge would) into the
    workspace, as `download_returned` places them.
    """

    def edge_job(ctx: StepContext) -> tuple[int, str]:
        if "edge-train submit" not in ctx.script or "--wait" not in ctx.script:
            return 1, f"the step no longer runs `edge-train submit --wait`: {ctx.script!r}"
        for local, source in returned.items():
            src, dest = edge_checkout / source, ctx.workspace / local
            if dest.is_dir():
                shutil.rmtree(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dest)
            else:
                shutil.copy2(src, dest)
            ctx.sandbox.own(dest)
            ctx.sandbox.own(dest.parent)
        return 0, f"edge job (stub) returned {', '.join(sorted(returned))}"

    return edge_job
