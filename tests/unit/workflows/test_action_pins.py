"""Each pinned action is the commit its version tag names, and that release runs on Node 24.

The pins were verified against the actions' own repositories (tag → commit, `runs.using` in action.yml);
this table records what was verified, and when a local mirror of an action's repository exists (the lab's
`fetch github:<owner>/<name>` puts one under /work/.mirror) the test checks the pin against it again.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MIRRORS = Path("/work/.mirror")
USES = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)")
# owner/name → (tag, commit, Node runtime), as read from the action's repository.
VERIFIED = {
    "actions/checkout": ("v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1", "node24"),
    "actions/setup-python": ("v7.0.0", "5fda3b95a4ea91299a34e894583c3862153e4b97", "node24"),
    "azure/login": ("v3.0.1", "f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "node24"),
}


def pins() -> set[tuple[str, str, str]]:
    found = set()
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        found |= {(a.lower(), sha, tag) for a, sha, tag in USES.findall(path.read_text())}
    return found


def test_every_pin_is_a_verified_release_on_node_24() -> None:
    assert pins()
    for action, sha, tag in pins():
        assert action in VERIFIED, f"{action} is not in the verified table: verify its tag and add it"
        assert (tag, sha) == VERIFIED[action][:2], action
        assert VERIFIED[action][2] == "node24", action


def mirror_of(action: str) -> Path | None:
    if not MIRRORS.is_dir():
        return None
    owner, name = action.split("/")
    for candidate in MIRRORS.iterdir():
        if candidate.name.lower() == f"{owner}+{name}".lower() and (candidate / "repo").exists():
            return candidate / "repo"
    return None


@pytest.mark.parametrize("action", sorted(VERIFIED))
def test_the_pin_matches_the_actions_own_tag_when_a_mirror_is_here(action: str) -> None:
    repo = mirror_of(action)
    if repo is None:
        pytest.skip(f"no mirror of {action} on this machine; VERIFIED records the check")
    tag, sha, runtime = VERIFIED[action]
    git = ["git", "-C", str(repo)]
    commit = subprocess.run(
        [*git, "rev-parse", f"{tag}^{{commit}}"], capture_output=True, text=True, check=True
    )
    assert commit.stdout.strip() == sha
    manifest = subprocess.run([*git, "show", f"{tag}:action.yml"], capture_output=True, text=True, check=True)
    assert yaml.safe_load(manifest.stdout)["runs"]["using"] == runtime
