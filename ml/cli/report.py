"""`edge-train report`: the pull-request report (metrics, params, data, gate, charts) and its PR comment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import typer

REPORT_FILE = ".edge-train/report.md"
# A plain string checked here rather than a Typer choice: Typer's own usage errors bypass run_app's
# EdgeTrainError handling and print a traceback (see the note in the issue 6 report).
RAN_ON = ("local", "edge")


def report(
    base: str = typer.Option("origin/main", help="git ref to compare with (the PR's base branch)"),
    ran_on: str = typer.Option("local", help="where this run's metrics come from: local | edge"),
    output: Path = typer.Option(Path(REPORT_FILE), help="Markdown file to write"),
    comment: bool = typer.Option(False, help="post or update the sticky PR comment (GitHub Actions only)"),
    check: bool = typer.Option(False, help="exit non-zero when the quality gate fails"),
    history: int = typer.Option(8, min=0, help="main commits to chart the gated metrics over"),
) -> None:
    """Compare this run with BASE: metric deltas, changed params and data, the quality gate, charts.

    Also appends the report to $GITHUB_STEP_SUMMARY when that is set (the Actions job summary).
    """
    from ml import console
    from ml.atomic import atomic_write_text
    from ml.cli.outputs import check_output_file
    from ml.errors import EdgeTrainError
    from ml.paths import repo_root
    from ml.report.build import RanOn, build_report
    from ml.report.render import render

    if ran_on not in RAN_ON:
        raise EdgeTrainError(
            f"--ran-on {ran_on!r}: expected one of {', '.join(RAN_ON)}",
            hint="use --ran-on edge after `edge-train submit`, else leave the default",
        )
    root = repo_root()
    target = check_output_file(output if output.is_absolute() else root / output, "--output")
    summary = _summary_target()
    if comment and not os.environ.get("GITHUB_TOKEN"):
        raise EdgeTrainError(
            "--comment needs GITHUB_TOKEN in the environment",
            hint="pass `env: GITHUB_TOKEN: ${{ github.token }}` to the step",
        )
    result = build_report(root, base, cast(RanOn, ran_on), history)
    if (
        check
        and result.base_commit is None
        and any(v.reasons and "not checked" in " ".join(v.reasons) for v in result.verdicts)
    ):
        raise EdgeTrainError(
            f"--base {base}: no such commit in this clone, so the gate's max_drop cannot be checked",
            hint="fetch the base (`git fetch origin`; in Actions `fetch-depth: 0`) or name another --base",
        )
    markdown = render(result)
    atomic_write_text(target, markdown)
    console.done(f"report against {base} written to {output}")
    _step_summary(summary, markdown)
    if comment:
        _comment(markdown)
    else:
        console.skipped("PR comment", "--comment was not given")
    failed = [v.metric for v in result.verdicts if not v.passed]
    if failed:
        message = f"quality gate failed for {', '.join(failed)}"
        if check:
            raise EdgeTrainError(message, hint=f"see the gate section of {output}")
        console.warn(f"{message} (not enforced: --check was not given)")
    else:
        console.done("quality gate passed" if result.verdicts else "no quality gate in params.yaml")


def _summary_target() -> Path | None:
    """$GITHUB_STEP_SUMMARY, checked before any work: a regular file (or not yet one) in a writable folder."""
    from ml.cli.outputs import check_output_file

    path = os.environ.get("GITHUB_STEP_SUMMARY")
    return check_output_file(Path(path), "GITHUB_STEP_SUMMARY") if path else None


def _step_summary(path: Path | None, markdown: str) -> None:
    from ml import console
    from ml.errors import EdgeTrainError

    if path is None:
        console.skipped("job summary", "GITHUB_STEP_SUMMARY is not set (not in GitHub Actions)")
        return
    # Appending is the summary file's protocol: every step of the job adds its section.
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    except OSError as exc:
        raise EdgeTrainError(
            f"GITHUB_STEP_SUMMARY {path}: cannot append the report ({exc.strerror})",
            hint="the report file itself was written; free disk space on the runner and re-run the step",
        ) from None
    console.done("report added to the job summary")


def _comment(markdown: str) -> None:
    from ml import console
    from ml.errors import EdgeTrainError
    from ml.report.github import pull_request_from_env, upsert_comment
    from ml.report.render import MARKER

    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise EdgeTrainError(
            "--comment needs GITHUB_TOKEN in the environment",
            hint="pass `env: GITHUB_TOKEN: ${{ github.token }}` to the step",
        )
    pr = pull_request_from_env()
    url, created = upsert_comment(pr, token, MARKER, markdown)
    console.done(f"{'posted' if created else 'updated'} the report comment on PR #{pr.number} {url}".rstrip())
