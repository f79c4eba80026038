"""The report as GitHub-flavoured Markdown: one document for the PR comment, the job summary and a file."""

from __future__ import annotations

from ml.paths import PARAMS_FILE
from ml.report.build import Report
from ml.report.charts import history_chart, roc_chart
from ml.report.data import DataChange
from ml.report.diff import MISSING, Change

MARKER = "<!-- edge-train:report -->"
"""Hidden first line: how the sticky comment is found again and updated in place."""

RAN_ON = {
    "local": "a local run (`--target local`); in a pull request that is the example data on the CI runner, "
    "because the edge is not configured for this repository or the pull request comes from a fork",
    "edge": "the edge compute through Azure ML (`--target azure`): the data stayed on premises, only "
    "metrics came back",
}


def render(report: Report) -> str:
    verdict = "✅ quality gate passed" if report.passed else "❌ quality gate failed"
    base = f"`{report.base_ref}`" + (f" (`{report.base_commit[:7]}`)" if report.base_commit else "")
    parts = [
        MARKER,
        f"## edge-train report: {verdict}",
        f"Comparing `{report.head}` and this run with base {base}.  \n"
        f"Metrics of this change come from {RAN_ON[report.ran_on]}.  \n"
        f"Base metrics: {report.base_metrics_source}."
        + (f"  \nTask: **{report.task}** (`ml/steps/schema.yaml`)." if report.task else ""),
        *(f"> {note}" for note in report.notes),
        _gate(report),
        _metrics(report.metrics),
        _params(report),
        _data(report),
        _charts(report),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


_PASS = {True: "✅ pass", False: "❌ fail"}


def _gate(report: Report) -> str:
    if not report.verdicts:
        return f"### Quality gate\n\nNo `gate:` in `{PARAMS_FILE}` nor a task default: nothing to enforce."
    rows = [
        f"| {_PASS[v.passed]} | `{_cell(v.metric)}` | {_cell('; '.join(v.reasons))} |"
        for v in report.verdicts
    ]
    return "\n".join(["### Quality gate", "", "| | metric | why |", "| --- | --- | --- |", *rows])


def _metrics(changes: list[Change]) -> str:
    rows = [f"| `{_cell(c.key)}` | {_value(c.base)} | {_value(c.head)} | {_delta(c)} |" for c in changes]
    header = ["### Metrics", "", "| metric | base | this change | Δ |", "| --- | ---: | ---: | ---: |"]
    return "\n".join([*header, *rows])


def _delta(change: Change) -> str:
    if change.kind == "added":
        return "new"
    if change.kind == "removed":
        return "removed"
    if change.delta is None:
        return "unchanged" if change.kind == "unchanged" else "changed (not a number)"
    if not change.delta:
        return "0"
    return f"{change.delta:+.4f} " + ("▲ better" if change.better else "▼ worse")


def _params(report: Report) -> str:
    if report.base_commit is None:
        return ""
    if not report.params:
        return f"### Params\n\nNo parameter in `{PARAMS_FILE}` changed."
    rows = [f"| `{_cell(c.key)}` | {_value(c.base)} | {_value(c.head)} |" for c in report.params]
    return "\n".join(
        [
            f"### Params changed in `{PARAMS_FILE}`",
            "",
            "| param | base | this change |",
            "| --- | ---: | ---: |",
            *rows,
        ]
    )


def _data(report: Report) -> str:
    if report.base_commit is None:
        return ""
    if not report.data:
        return "### Data\n\nNo file under `data/` changed (`dvc diff`)."
    rows = [
        f"| `{_cell(c.path)}` | {c.kind} | {_rows(c.base_rows)} | {_rows(c.head_rows)} | {_row_delta(c)} |"
        for c in report.data
    ]
    header = [
        "### Data changed (`dvc diff`)",
        "",
        "| file | change | rows (base) | rows (this change) | Δ rows |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    return "\n".join([*header, *rows])


def _rows(count: int | None) -> str:
    return "—" if count is None else f"{count:,}"


def _row_delta(change: DataChange) -> str:
    if change.base_rows is None or change.head_rows is None:
        return "—"
    return f"{change.head_rows - change.base_rows:+,}"


def _charts(report: Report) -> str:
    charts = [history_chart(metric, points) for metric, points in report.history.items()]
    if report.roc_head is not None:
        caption = "first line: base, second line: this change" if report.roc_base else "this change"
        charts.append(f"{roc_chart(report.roc_base, report.roc_head)}\n\n<sub>ROC: {caption}</sub>")
    return "\n\n".join(["### Charts", *charts]) if charts else ""


def _value(value: object) -> str:
    if value is MISSING:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"`{_cell(str(value))}`" if not isinstance(value, int | bool) else str(value)


def _cell(text: str) -> str:
    """Table cells cannot hold `|` or newlines."""
    return text.replace("|", "\\|").replace("\n", " ")
