"""A problem found in a pipeline or component file: where it is, what is wrong, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ml.errors import EdgeTrainError


@dataclass(frozen=True)
class Finding:
    """One problem; `line` is 1-based, or None when the key is missing or the SDK gave no position."""

    path: str
    line: int | None
    key: str
    message: str
    fix: str
    severity: Literal["error", "warning"] = "error"

    def sort_key(self) -> tuple[str, int, str, str]:
        """Report order: by file, then line (findings without a line first), then key."""
        return (self.path, self.line or 0, self.key, self.message)

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.key}: {self.message} (fix: {self.fix})"


def raise_for_errors(findings: list[Finding], what: str) -> None:
    """Turn error findings into one `EdgeTrainError` listing each of them; warnings pass."""
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise EdgeTrainError(
            f"{what}: {len(errors)} problem(s)\n"
            + "\n".join(f.render() for f in sorted(errors, key=Finding.sort_key)),
            hint="fix each problem at the file and line shown, then run `edge-train pipeline validate`",
        )
