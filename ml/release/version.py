"""Model versions as git tags in GTO's format, so `gto show` and `gto history` read them unchanged.

A version is an annotated tag `<model>@vX.Y.Z` on the commit that trained it; its message carries the
lineage, so the tag alone says where the model came from. Bump rule (documented in the README):

- the first version is v1.0.0;
- retraining (new code, data or params, same input/output signature) bumps the **minor** version;
- a changed signature (features or outputs) bumps the **major** version: clients must change too;
- the same model identity again creates nothing and returns the existing tag (idempotent).

Promotion writes GTO's stage tag `<model>#<stage>#<n>` on the version's commit (n counts up per model).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ml.errors import EdgeTrainError

SEMVER = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?$")
STAGE_COUNTER = re.compile(r"#(\d+)$")


@dataclass(frozen=True)
class VersionTag:
    name: str
    version: str
    commit: str
    fields: dict[str, str]

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def semver(self) -> tuple[int, int, int]:
        match = SEMVER.match(self.version)
        assert match, self.version
        return int(match[1]), int(match[2]), int(match[3])


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise EdgeTrainError(
            f"model name {name!r} cannot be a GTO artifact name",
            hint="in edge-train.toml [model] name use letters, digits, '-', '_' and '/' only",
        )


def list_versions(root: Path, name: str) -> list[VersionTag]:
    """Every `<name>@vX.Y.Z` tag, oldest version first."""
    out = _git(
        root,
        "for-each-ref",
        f"refs/tags/{name}@v*",
        "--format=%(refname:strip=2)%00%(*objectname)%00%(objectname)%00%(contents)%00%00",
    )
    versions = []
    for record in out.split("\0\0\n"):
        if not record.strip():
            continue
        tag, peeled, obj, message = ([*record.split("\x00"), "", "", ""])[:4]
        version = tag.removeprefix(f"{name}@")
        if SEMVER.match(version):
            versions.append(VersionTag(name, version, peeled or obj, parse_message(message)))
    return sorted(versions, key=lambda v: v.semver)


def find_version(root: Path, name: str, model_hash: str) -> VersionTag | None:
    return next((v for v in list_versions(root, name) if v.fields.get("model_hash") == model_hash), None)


def next_version(existing: list[VersionTag], signature_hash: str) -> str:
    if not existing:
        return "v1.0.0"
    latest = existing[-1]
    major, minor, _ = latest.semver
    if latest.fields.get("signature_hash") not in (None, signature_hash):
        return f"v{major + 1}.0.0"
    return f"v{major}.{minor + 1}.0"


def free_version(existing: list[VersionTag], fields: dict[str, str], version: str | None = None) -> str:
    """The number a new model gets: `version` if given and free, else the bump rule's next one."""
    version = version or next_version(existing, fields.get("signature_hash", ""))
    if not SEMVER.match(version):
        raise EdgeTrainError(f"version {version!r} is not vMAJOR.MINOR.PATCH", hint="for example v1.2.0")
    clash = next((v for v in existing if v.version == version), None)
    if clash:
        raise EdgeTrainError(
            f"tag {clash.tag} already exists and points at commit {clash.commit[:12]} with another model "
            f"(identity {clash.fields.get('model_hash', '?')[:12]})",
            hint="tags are never moved: pick the next free version, or omit --version to bump automatically",
        )
    return version


def create_version(
    root: Path, name: str, fields: dict[str, str], version: str | None = None
) -> tuple[str, bool]:
    """Tag HEAD as the next version of `name` unless this model identity already has one.

    Returns (tag, created). `version` forces a number; a tag of that number that already points at another
    commit or another model is an error, never moved.
    """
    check_name(name)
    existing = find_version(root, name, fields["model_hash"])
    if existing:
        if version and version != existing.version:
            raise EdgeTrainError(
                f"this model is already {existing.tag}; it cannot also be {name}@{version}",
                hint="retrain (new code, data or params) to get a new version",
            )
        return existing.tag, False
    version = free_version(list_versions(root, name), fields, version)
    tag = f"{name}@{version}"
    message = f"Registering artifact `{name}` version `{version}`\n\n" + "".join(
        f"{key}: {value}\n" for key, value in sorted(fields.items())
    )
    _git(root, "tag", "--annotate", "--file=-", tag, "HEAD", stdin=message)
    return tag, True


def promote(root: Path, name: str, version: str, stage: str) -> tuple[str, bool]:
    """Write GTO's stage tag for `name@version`; (tag, created). Already in that stage → nothing new."""
    check_name(name)
    if not NAME.match(stage):
        raise EdgeTrainError(
            f"stage {stage!r} is not a valid GTO stage name", hint="for example production or staging"
        )
    target = next((v for v in list_versions(root, name) if v.version == version), None)
    if target is None:
        raise EdgeTrainError(
            f"no version tag {name}@{version}",
            hint="list versions with `gto show` or create one with `edge-train version`",
        )
    current = stage_tags(root, name, stage)
    if current and current[-1][1] == version:
        return current[-1][0], False
    counter = max((int(m[1]) for t in _tags(root, f"{name}#*") if (m := STAGE_COUNTER.search(t))), default=0)
    tag = f"{name}#{stage}#{counter + 1}"
    message = f"Assigning stage `{stage}` to artifact `{name}` version `{version}`\n\nversion: {version}\n"
    _git(root, "tag", "--annotate", "--file=-", tag, target.commit, stdin=message)
    return tag, True


def stage_tags(root: Path, name: str, stage: str) -> list[tuple[str, str]]:
    """(tag, version) of each stage assignment of `name`, in counter order."""
    out = _git(
        root, "for-each-ref", f"refs/tags/{name}#{stage}#*", "--format=%(refname:strip=2)%00%(contents)%00%00"
    )
    found = []
    for record in out.split("\0\0\n"):
        if record.strip():
            tag, message = ([*record.split("\x00"), ""])[:2]
            if m := STAGE_COUNTER.search(tag):
                found.append((int(m[1]), tag, parse_message(message).get("version", "")))
    return [(tag, version) for _, tag, version in sorted(found)]


def parse_message(message: str) -> dict[str, str]:
    fields = {}
    for line in message.splitlines():
        key, sep, value = line.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z0-9_.-]+", key):
            fields[key] = value.strip()
    return fields


def _has_identity(root: Path) -> bool:
    if os.environ.get("GIT_COMMITTER_EMAIL"):
        return True
    found = subprocess.run(
        ["git", "config", "user.email"], cwd=root, capture_output=True, text=True, check=False
    )
    return bool(found.stdout.strip())


def _tags(root: Path, pattern: str) -> list[str]:
    return _git(root, "tag", "--list", pattern).split()


# The tagger of a version tag when git has no identity (a fresh CI runner, a new container): annotated tags
# need one, and a missing one must not fail a run that has already trained and registered the model.
FALLBACK_TAGGER = {"GIT_COMMITTER_NAME": "edge-train", "GIT_COMMITTER_EMAIL": "edge-train@localhost.invalid"}


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    env = None
    if args[0] == "tag" and "--annotate" in args and not _has_identity(root):
        env = {**os.environ, **FALLBACK_TAGGER}
    result = subprocess.run(
        ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise EdgeTrainError(
            f"git {args[0]} failed: {result.stderr.strip()}",
            hint="run edge-train inside a git checkout with at least one commit",
        )
    return result.stdout
