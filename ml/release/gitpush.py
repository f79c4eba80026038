"""Push version and stage tags to `origin`, authenticated by GITHUB_TOKEN without writing it anywhere.

GitHub workflows check out with `persist-credentials: false`, so `origin` has no credentials. When
GITHUB_TOKEN is set and origin is an https URL on the GitHub server, the token goes to git as an
`http.<server>/.extraheader` through git's GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n
environment variables (as actions/checkout does in its config): never on a command line (visible in the
process list), never in .git/config (left behind on the runner), never printed.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ml import console
from ml.errors import EdgeTrainError

TOKEN_ENV = "GITHUB_TOKEN"
DEFAULT_SERVER = "https://github.com"


def git_config_entry(key: str, value: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Environment that gives git one more config entry (GIT_CONFIG_COUNT / _KEY_n / _VALUE_n), after any
    entries already in `environ`, so that nothing it holds is replaced."""
    try:
        index = int(environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        index = 0
    return {
        "GIT_CONFIG_COUNT": str(index + 1),
        f"GIT_CONFIG_KEY_{index}": key,
        f"GIT_CONFIG_VALUE_{index}": value,
    }


def auth_env(origin_url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Extra environment for git: the token as an http extraheader scoped to the GitHub server, or nothing."""
    token = environ.get(TOKEN_ENV, "")
    server = (environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER).rstrip("/")
    if not token or not server.startswith("https://") or not origin_url.startswith(server + "/"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return git_config_entry(f"http.{server}/.extraheader", f"AUTHORIZATION: basic {basic}", environ)


def origin_url(root: Path) -> str:
    """origin's URL as configured (before any insteadOf rewriting), or an error naming the fix."""
    result = subprocess.run(
        ["git", "config", "--get", "remote.origin.url"], cwd=root, capture_output=True, text=True, check=False
    )
    url = result.stdout.strip()
    if result.returncode != 0 or not url:
        raise EdgeTrainError(
            "this checkout has no `origin` remote to push tags to",
            hint="add one (`git remote add origin <url>`), or run without --push",
        )
    return url


def push_tags(root: Path, tags: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Push `tags` to origin; return those origin did not have. Tags origin already holds are skipped."""
    environ = os.environ if environ is None else environ
    url = origin_url(root)
    extra = auth_env(url, environ)
    env = {**environ, **extra, "GIT_TERMINAL_PROMPT": "0"}
    refspecs = [f"refs/tags/{tag}:refs/tags/{tag}" for tag in tags]
    result = subprocess.run(
        ["git", "push", "--porcelain", "origin", *refspecs],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    where = _display(url)
    status = _porcelain(result.stdout)
    rejected = [tag for tag in tags if status.get(f"refs/tags/{tag}", ("!", ""))[0] == "!"]
    if result.returncode != 0 or rejected:
        said = result.stderr + " " + " ".join(summary for _, summary in status.values())
        detail = _redact(" ".join(said.split()), environ)
        raise EdgeTrainError(
            f"pushing {', '.join(rejected or tags)} to {where} failed: {detail}",
            hint=(
                "tags are never moved: if origin holds another tag of that name, pick the next version"
                if "already exists" in detail or "rejected" in detail
                else "check origin's URL and that GITHUB_TOKEN may write (`permissions: contents: write`)"
            ),
        )
    pushed = []
    for tag in tags:
        if status[f"refs/tags/{tag}"][0] == "=":
            console.skipped(f"push {tag}", f"{where} already has it")
        else:
            pushed.append(tag)
            console.done(f"pushed {tag} to {where}" + (" (GITHUB_TOKEN)" if extra else ""))
    return pushed


def _porcelain(out: str) -> dict[str, tuple[str, str]]:
    """{local ref: (flag, summary)} from `git push --porcelain` ('*' new, '=' up to date, '!' rejected)."""
    status = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            status[parts[1].split(":", 1)[0]] = (parts[0], parts[2])
    return status


def _display(url: str) -> str:
    """origin's URL without any user:password@ part."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('@', 1)[-1]}" if sep and "@" in rest.split("/", 1)[0] else url


def _redact(text: str, environ: Mapping[str, str]) -> str:
    token = environ.get(TOKEN_ENV, "")
    return text.replace(token, "***") if token else text
