"""How every command reports: what it did, what it skipped and why.

A shared vocabulary keeps output scannable: `✓` done, `↷` skipped (always with the reason), `!` warning.
Every line passes through `mask_secrets`: a URL or connection string quoted in a message never shows a key.
"""

from __future__ import annotations

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
