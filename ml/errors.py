"""The one error type users see.

Every failure a user can fix is raised as `EdgeTrainError` with a hint; the CLI prints message and hint
without a traceback and exits non-zero. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class EdgeTrainError(Exception):
    """A failure the user can act on: `message` says what is wrong, `hint` says how to fix it."""

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message
