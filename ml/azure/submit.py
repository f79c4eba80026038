"""Submit the pipeline job, follow its status, and bring back only the model (also as ONNX) and the metrics.

After a successful run the returned outputs land in exactly the paths a local `edge-train run` writes
(`artifacts/model/`, `reports/metrics.json`, `reports/plots/`), so report, register and package work
unchanged whichever runner trained the model.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ml import console
from ml.atomic import atomic_output_dir, atomic_write_bytes
from ml.azure.failures import COMPUTE_UNREACHABLE, explain
from ml.azure.job import RETURNED
from ml.azure.nodes import LogTail, error_of, node_url, nodes_of, run_details
from ml.azure.progress import Progress
from ml.azure.retry import Budget, first_line, is_transient, retrying
from ml.azure.snapshot import code_snapshot
from ml.errors import EdgeTrainError
from ml.lineage import record_edge_run

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Job, PipelineJob

# What each status azure-ai-ml knows means for `submit --wait` (a test checks the SDK's enums against it).
# Still going: poll on. A job can also stop without completing: it ended (Failed, Canceled), it waits for a
# person (Paused), or it may still move on (CancelRequested, NotResponding: a run may leave NotResponding
# for any earlier state), which are waited for at most their grace before submit stops following.
IN_PROGRESS = frozenset(
    {"NotStarted", "Starting", "Provisioning", "Preparing", "Queued", "Running", "Finalizing", "Unknown"}
)
ENDED = frozenset({"Completed", "Failed", "Canceled", "Paused"})
GRACE_SECONDS = {"CancelRequested": 600.0, "NotResponding": 900.0}


def status_of(job: Job) -> str:
    """The job's status as its plain name (the SDK hands back an enum whose str() is `JobStatus.RUNNING`)."""
    return str(getattr(job.status, "value", job.status))


def portal_url(job: Job) -> str | None:
    return getattr(job, "studio_url", None)


def submit(client: MLClient, job: PipelineJob, root: Path) -> Job:
    """Create the job; uploads the code snapshot (the files git tracks in `root`, minus what `.amlignore`
    trims: ml/azure/snapshot.py) and the anonymous components.

    The job is named before it is sent, so an interrupt in the middle of the upload can still cancel it.
    """
    from azure.core.exceptions import AzureError  # also the SDK's MlException and credential failures

    job.name = job.name or f"edge-train-{uuid.uuid4().hex[:12]}"
    with code_snapshot(job, root):
        try:
            created = client.jobs.create_or_update(job, experiment_name=job.experiment_name)
        except AzureError as exc:
            raise explain(exc, action="submit") from None
    console.done(
        f"submitted {created.name} to compute {job.settings.default_compute} "
        f"(experiment {created.experiment_name})"
    )
    if portal_url(created):
        console.info(f"portal: {portal_url(created)}")
    return created


def follow(
    client: MLClient,
    name: str,
    *,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 6 * 3600,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
    budget: Budget = Budget(),
) -> Job:
    """Poll until the job ends, showing its running node and that node's own log lines.

    Transient failures while polling are retried within `budget`; a job that did not complete raises with
    the failing node's error, or with what its status means and what to do.
    """
    started = entered = now()
    last = None
    tail = LogTail()
    with Progress(name, now=now) as progress:
        while True:
            job = _poll(client, name, budget, sleep)
            status = status_of(job)
            if status != last:
                entered, last = now(), status
                if status not in IN_PROGRESS | ENDED | GRACE_SECONDS.keys():
                    console.warn(f"{name}: status {status} is new to edge-train; following it as running")
            running = _running_nodes(client, name, progress, tail) if status == "Running" else []
            progress.update(status, running)
            if status in ENDED:
                break
            grace = GRACE_SECONDS.get(status)
            if grace is not None and now() - entered > grace:
                raise _stuck(job, status, grace)
            if now() - started > timeout_seconds:
                raise EdgeTrainError(
                    f"job {name} still {status} after {timeout_seconds:.0f} s\n  job: {portal_url(job)}",
                    hint="it keeps running in Azure; follow it in the portal, or re-run with a longer "
                    "--timeout",
                )
            sleep(poll_seconds)
    if tail.hidden:
        console.info(f"{tail.hidden} other log lines not shown (they may hold data): read them in the portal")
    if status != "Completed":
        raise _not_completed(client, job, status)
    console.done(f"{name} completed")
    return job


def _poll(client: MLClient, name: str, budget: Budget, sleep: Callable[[float], None]) -> Job:
    from azure.core.exceptions import AzureError

    try:
        return retrying(
            lambda: client.jobs.get(name), what=f"following job {name}", budget=budget, sleep=sleep
        )
    except AzureError as exc:
        if is_transient(exc):
            raise EdgeTrainError(
                f"lost contact with Azure ML while following job {name}: {first_line(exc)} "
                f"(gave up after {budget.attempts} attempts)",
                hint="the job keeps running in Azure: follow it in the portal, and check this machine's "
                "network or proxy to management.azure.com",
            ) from None
        raise explain(exc, action=f"following job {name}") from None


def _running_nodes(client: MLClient, name: str, progress: Progress, tail: LogTail) -> list[str]:
    """The nodes running now, their new log lines shown; best effort: a hiccup here never ends the follow."""
    try:
        running = [node for node in nodes_of(client, name) if node.status == "Running"]
        for node in running:
            progress.log(node.name, tail.new_lines(client, node))
    except Exception:  # the next poll tries again; following the job matters more than its log
        return progress.running
    return [node.name for node in running]


def _stuck(job: Job, status: str, grace: float) -> EdgeTrainError:
    where = f"\n  job: {portal_url(job)}"
    if status == "NotResponding":
        cause = COMPUTE_UNREACHABLE
        return EdgeTrainError(
            f"job {job.name} NotResponding for {grace:.0f} s: {cause.what}{where}", hint=cause.fix
        )
    return EdgeTrainError(
        f"job {job.name} still {status} after {grace:.0f} s{where}",
        hint="Azure ML has not finished cancelling it; check it in the portal and `edge-train doctor`",
    )


def _not_completed(client: MLClient, job: Job, status: str) -> EdgeTrainError:
    where = f"\n  job: {portal_url(job)}"
    if status == "Canceled":
        return EdgeTrainError(
            f"job {job.name} was canceled{where}",
            hint="someone cancelled it in the portal or through a cancelled workflow; "
            "re-run `edge-train submit --wait` to train again",
        )
    if status == "Paused":
        return EdgeTrainError(
            f"job {job.name} is Paused: it waits for someone to resume it{where}",
            hint="resume or cancel it in the portal; submit stops following a paused job "
            "and downloads nothing",
        )
    return _failure(client, job)


def _failure(client: MLClient, job: Job) -> EdgeTrainError:
    """The failed node's own error and link; the pipeline's error if no node failed (e.g. none started)."""
    from azure.core.exceptions import AzureError

    try:
        failed = next((node for node in nodes_of(client, job.name) if node.status == "Failed"), None)
        if failed is not None:
            return explain(
                error_of(run_details(client, failed.run_id)) or "it recorded no error",
                action=f"node {failed.name} of pipeline job {job.name}",
                portal_url=node_url(portal_url(job), job.name, failed.run_id),
            )
    except AzureError:
        pass  # fall back to the pipeline's own error below
    return explain(
        _failure_text(client, job), action=f"pipeline job {job.name} (Failed)", portal_url=portal_url(job)
    )


def _failure_text(client: MLClient, job: Job) -> str:
    """The error Azure ML recorded for the run, or the status when there is none.

    `jobs.stream` on a finished job prints a summary (silenced here: we print our own) and raises the run
    history's error, code and message, which is what `classify` needs; it is the SDK's public way to get it.
    """
    import contextlib
    import io

    from azure.core.exceptions import AzureError

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            client.jobs.stream(job.name)
    except AzureError as exc:
        return _error_summary(str(exc))
    return f"the job ended as {status_of(job)}"


def _error_summary(text: str) -> str:
    """`code: message` from the run-history error JSON the SDK embeds in its exception text."""
    import json

    try:
        error = json.loads(text[text.index("{") : text.rindex("}") + 1])
    except ValueError:
        return text
    error = error.get("error", error) if isinstance(error, dict) else {}
    if not isinstance(error, dict) or not error.get("message"):
        return text
    return f"{error.get('code', 'Error')}: {' '.join(str(error['message']).split())}"


def download_returned(client: MLClient, name: str, root: Path) -> None:
    """Download what the job returns (`RETURNED`: model, metrics, plots, the portable model) into the local
    run's paths.

    Everything is downloaded and checked first, then moved into place, each path replaced atomically: a
    failed or incomplete download leaves the previous run's files as they were.
    """
    from azure.core.exceptions import AzureError

    with tempfile.TemporaryDirectory(prefix=".edge-train-download-", dir=root) as scratch:
        for output_name in RETURNED:
            try:
                client.jobs.download(name, output_name=output_name, download_path=scratch)
            except AzureError as exc:
                raise explain(exc, action=f"downloading output {output_name} of {name}") from None
        downloaded = {output_name: Path(scratch) / "named-outputs" / output_name for output_name in RETURNED}
        for output_name, folder in downloaded.items():
            require_output(folder, is_file=RETURNED[output_name].type == "uri_file")
        for output_name, folder in downloaded.items():
            returned = RETURNED[output_name]
            place_output(folder, root / returned.local_path, is_file=returned.type == "uri_file")
            console.done(f"downloaded {output_name} → {returned.local_path}")
    record_edge_run(root, name)  # the release steps record this job as the model's edge run


def require_output(downloaded: Path, *, is_file: bool) -> None:
    """A returned output must exist; a `uri_file` output arrives as a folder holding exactly one file."""
    if not downloaded.is_dir() or not any(downloaded.iterdir()):
        raise EdgeTrainError(
            f"the job produced no {downloaded.name} output",
            hint="check the step's logs in the portal: it must write to its output path",
        )
    if is_file:
        count = sum(path.is_file() for path in downloaded.rglob("*"))
        if count != 1:
            raise EdgeTrainError(
                f"output {downloaded.name}: expected one file, got {count}",
                hint="the step must write a single file to its uri_file output",
            )


def place_output(downloaded: Path, destination: Path, *, is_file: bool) -> None:
    """Move one checked output into place, replacing what a previous run left there."""
    require_output(downloaded, is_file=is_file)
    if is_file:
        (file,) = (path for path in downloaded.rglob("*") if path.is_file())
        atomic_write_bytes(destination, file.read_bytes())
        return
    with atomic_output_dir(destination) as tmp:
        shutil.copytree(downloaded, tmp, dirs_exist_ok=True)
