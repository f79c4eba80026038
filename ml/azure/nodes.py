"""The pipeline's nodes as Azure ML runs them: which one runs, which one failed and why, its own log lines.

A failed pipeline only says "a child failed"; the cause lives on the child run. The SDK lists children
publicly (`jobs.list(parent_job_name=...)`) but drops their error and log files; both come from run history's
run details, which the SDK reaches only through `jobs._runs_operations` (the call `jobs.stream` makes). That
one private call is here, and the contract tests run it through the real SDK, so an upgrade that moves it
fails a test instead of a user's job.

Logs can hold anything a library printed, rows of data included (residency): only lines our own steps print
(`<node>: ...` from the node's own step, the console's marks, `error:`/`hint:`) are shown; the rest are
counted, never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

# Azure ML's runtime writes the command's stdout and stderr here; system_logs/ hold the runtime's own.
STEP_LOG = "user_logs/std_log.txt"
# The lines our code prints: ml/steps print `<step>: ...`, ml/console marks `✓ ↷ !`, run_app `error:`/`hint:`.
OWN_MARKS = ("✓ ", "↷ ", "! ", "error: ", "hint: ")
MAX_LINE = 240
LOG_TIMEOUT = (5.0, 20.0)  # connect, read: a log tail is nice to have, never worth a stalled follow


@dataclass(frozen=True)
class Node:
    run_id: str
    name: str
    status: str


def nodes_of(client: MLClient, pipeline: str) -> list[Node]:
    """The pipeline's child runs (its nodes), in the order run history lists them."""
    return [
        Node(child.name, child.display_name or child.name, str(child.status))
        for child in client.jobs.list(parent_job_name=pipeline)
        if child is not None
    ]


def run_details(client: MLClient, run_id: str) -> Any:
    """Run history's details of one run: status, error and log files (see the module docstring)."""
    return client.jobs._runs_operations.get_run_details(run_id)


def error_of(details: Any) -> str | None:
    """`code: message` of a run's recorded error, first line only (a message can carry a traceback)."""
    error = getattr(getattr(details, "error", None), "error", None)
    if error is None or not error.message:
        return None
    message = next((line.strip() for line in str(error.message).splitlines() if line.strip()), "")
    return f"{error.code or 'Error'}: {message[:MAX_LINE]}"


def node_url(pipeline_url: str | None, pipeline: str, run_id: str) -> str | None:
    """The studio link of a node: the pipeline's link with the child's run id in place of the pipeline's."""
    if not pipeline_url or f"/runs/{pipeline}" not in pipeline_url:
        return pipeline_url
    return pipeline_url.replace(f"/runs/{pipeline}", f"/runs/{run_id}", 1)


@dataclass
class LogTail:
    """Reads a node's step log as it grows (a ranged GET from where it stopped) and keeps our own lines."""

    offsets: dict[str, int] = field(default_factory=dict)
    partial: dict[str, str] = field(default_factory=dict)
    hidden: int = 0

    def new_lines(self, client: MLClient, node: Node) -> list[str]:
        url = (run_details(client, node.run_id).log_files or {}).get(STEP_LOG)
        if not url:
            return []
        chunk = self._read_from(url, self.offsets.get(node.run_id, 0))
        if not chunk:
            return []
        self.offsets[node.run_id] = self.offsets.get(node.run_id, 0) + len(chunk)
        text = self.partial.pop(node.run_id, "") + chunk.decode("utf-8", errors="replace")
        *complete, rest = text.split("\n")
        if rest:
            self.partial[node.run_id] = rest
        return self.own(complete, node.name)

    def own(self, lines: list[str], node: str) -> list[str]:
        """Our own lines, cut to one screen line; everything else only counted (residency)."""
        marks = (*OWN_MARKS, f"{node.lower()}: ")
        kept = [line.rstrip()[:MAX_LINE] for line in lines if line.startswith(marks)]
        self.hidden += sum(1 for line in lines if line.strip()) - len(kept)
        return kept

    @staticmethod
    def _read_from(url: str, offset: int) -> bytes:
        """The blob's bytes from `offset` on (`Range: bytes=N-`); 416 means nothing new yet."""
        import requests

        response = requests.get(url, headers={"Range": f"bytes={offset}-"}, timeout=LOG_TIMEOUT)
        if response.status_code == 416:
            return b""
        response.raise_for_status()
        return response.content if response.status_code == 206 else response.content[offset:]
