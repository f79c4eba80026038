"""How every command reports: what it did, what it skipped and why.

A shared vocabulary keeps output scannable: `✓` done, `↷` skipped (always with the reason), `!` warning.
"""

from __future__ import annotations

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def done(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")


def skipped(message: str, why: str) -> None:
    console.print(f"[yellow]↷[/yellow] {message} [dim]— skipped: {why}[/dim]")


def warn(message: str) -> None:
    err_console.print(f"[yellow]![/yellow] {message}")


def info(message: str) -> None:
    console.print(f"  {message}")
