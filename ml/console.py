"""How every command reports: what it did, what it skipped and why.

A shared vocabulary keeps output scannable: `✓` done, `↷` skipped (always with the reason), `!` warning.
Every line passes through `mask_secrets`: a URL or connection string quoted in a message never shows a key.
"""

from __future__ import annotations

from typing import BinaryIO

from rich.console import Console

from ml.redact import mask_secrets

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def done(message: str) -> None:
    console.print(f"[green]✓[/green] {mask_secrets(message)}")


def skipped(message: str, why: str) -> None:
    console.print(f"[yellow]↷[/yellow] {mask_secrets(message)} [dim]— skipped: {mask_secrets(why)}[/dim]")


def warn(message: str) -> None:
    err_console.print(f"[yellow]![/yellow] {mask_secrets(message)}")


def info(message: str) -> None:
    console.print(f"  {mask_secrets(message)}")


class Progress:
    """How far a long task got, in counts only (bytes read, rows done), never a value of the data.

    On a terminal: a Rich bar (transient: it leaves no trace in the output). Elsewhere (a step's log under
    DVC or in an Azure ML job): one line every `LOG_EVERY` seconds. Shown only for work worth waiting on
    (`total` > `worth`), so small runs print exactly what they printed before.
    """

    LOG_EVERY = 10.0

    def __init__(self, description: str, total: int, unit: str = "bytes", worth: int = 8 << 20) -> None:
        self._description, self._total, self._unit = description, total, unit
        self._enabled = total > worth
        self._done = 0
        self._bar = None

    def __enter__(self) -> Progress:
        import time

        self._last = time.monotonic()
        if self._enabled and err_console.is_terminal:
            import rich.progress as bar

            counts = [bar.DownloadColumn(), bar.TransferSpeedColumn()]
            if self._unit != "bytes":
                counts = [bar.MofNCompleteColumn()]
            self._bar = bar.Progress(
                bar.TextColumn("{task.description}"),
                bar.BarColumn(),
                *counts,
                bar.TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self._description, total=self._total)
        return self

    def advance(self, count: int) -> None:
        self._done += count
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.advance(self._task, count)
            return
        import time

        now = time.monotonic()
        if now - self._last >= self.LOG_EVERY:
            self._last = now
            share = min(self._done / self._total, 1.0)
            err_console.print(f"  {self._description}: {share:.0%} of {self._total:,} {self._unit}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


class CountingReader:
    """A read-only binary stream that advances a `Progress` by the bytes read through it."""

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self._raw, self._progress = raw, progress
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._progress.advance(len(chunk))
        return chunk

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
