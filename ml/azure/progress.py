"""What `submit --wait` shows while the job runs: its status, the running node, elapsed time, our log lines.

In a terminal it is one live Rich panel (spinner, node, clock, the last lines); in CI, where nothing redraws,
the same facts arrive as plain lines: each change once, and a heartbeat every few minutes so a long node
does not look hung.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.text import Text

from ml import console as out

TAIL = 6
HEARTBEAT_SECONDS = 300.0


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Status, nodes and log lines of one job, drawn live in a terminal and as lines elsewhere."""

    def __init__(self, job: str, *, now: Callable[[], float] = time.monotonic) -> None:
        self.job = job
        self.now = now
        self.started = now()
        self.status = ""
        self.running: list[str] = []
        self.tail: deque[str] = deque(maxlen=TAIL)
        self.live = out.console.is_terminal
        self._live: Live | None = None
        self._spinner = Spinner("dots")
        self._last_said = self.started

    def __enter__(self) -> Progress:
        if self.live:
            self._live = Live(self, console=out.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, trace)
            self._live = None

    def update(self, status: str, running: list[str] | None = None) -> None:
        """A poll's result: each change printed once (plus a heartbeat in CI), the live panel redrawn."""
        changed = status != self.status or (running is not None and running != self.running)
        self.status = status
        if running is not None:
            self.running = running
        if changed or (not self.live and self.now() - self._last_said >= HEARTBEAT_SECONDS):
            out.info(escape(self._headline()))
            self._last_said = self.now()

    def log(self, node: str, lines: list[str]) -> None:
        for line in lines:
            self.tail.append(f"{node} │ {line}")
            if not self.live:
                out.info(f"[dim]{escape(node)} │[/dim] {escape(line)}")

    def _headline(self) -> str:
        where = f" — running {', '.join(self.running)}" if self.running else ""
        return f"{self.job}: {self.status}{where} ({clock(self.now() - self.started)})"

    def __rich__(self) -> Group:
        """Rendered by Live at every refresh, so the clock ticks between polls."""
        self._spinner.update(text=Text(self._headline()))
        return Group(self._spinner, *(Text(f"  {line}", style="dim") for line in self.tail))
