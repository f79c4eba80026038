"""Long steps say how far they got: a bar on a terminal, a line every few seconds in a log, counts only."""

import io

from rich.console import Console

from ml import console


def test_in_a_log_a_long_task_prints_a_line_now_and_then_with_counts_only(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(console, "err_console", Console(file=out, force_terminal=False, width=200))
    monkeypatch.setattr(console.Progress, "LOG_EVERY", 0.0)
    with console.Progress("prepare: reading", 400, unit="rows", worth=100) as progress:
        for _ in range(4):
            progress.advance(100)
    assert out.getvalue().splitlines() == [
        f"  prepare: reading: {share}% of 400 rows" for share in (25, 50, 75, 100)
    ]


def test_a_task_not_worth_waiting_on_prints_nothing(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(console, "err_console", Console(file=out, force_terminal=False))
    monkeypatch.setattr(console.Progress, "LOG_EVERY", 0.0)
    with console.Progress("evaluate: scoring", 50, unit="rows", worth=100) as progress:
        progress.advance(50)
    assert out.getvalue() == ""
