"""Submit the pipeline job, follow its status, and bring back only the model and the metrics.

After a successful run the returned outputs land in exactly the paths a local `edge-train run` writes
(`artifacts/model/`, `reports/metrics.json`, `reports/plots/`), so report, register and package work
unchanged whichever runner trained the model.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ml import console
from ml.atomic import atomic_output_dir, atomic_write_bytes
from ml.azure.failures import explain
from ml.azure.job import RETURNED
from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Job, PipelineJob

TERMINAL = frozenset({"Completed", "Failed", "Canceled", "NotResponding"})


def status_of(job: Job) -> str:
    """The job's status as its plain name (the SDK hands back an enum whose str() is `JobStatus.RUNNING`)."""
    return str(getattr(job.status, "value", job.status))


def portal_url(job: Job) -> str | None:
    return getattr(job, "studio_url", None)


def submit(client: MLClient, job: PipelineJob) -> Job:
    """Create the job; uploads the code snapshot (what `.amlignore` lets through) and anonymous components."""
    from azure.core.exceptions import AzureError  # also the SDK's MlException and credential failures

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
) -> Job:
    """Poll until the job ends, printing each status change; a failed job raises with the mapped cause."""
    from azure.core.exceptions import AzureError

    deadline = time.monotonic() + timeout_seconds
    last = None
    while True:
        try:
            job = client.jobs.get(name)
        except AzureError as exc:
            raise explain(exc, action=f"following job {name}") from None
        status = status_of(job)
        if status != last:
            console.info(f"{name}: {status}")
            last = status
        if status in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise EdgeTrainError(
                f"job {name} still {status} after {timeout_seconds:.0f} s\n  job: {portal_url(job)}",
                hint="it keeps running in Azure; follow it in the portal, or re-run with a longer --timeout",
            )
        sleep(poll_seconds)
    if status != "Completed":
        raise explain(
            _failure_text(client, job), action=f"pipeline job {name} ({status})", portal_url=portal_url(job)
        )
    console.done(f"{name} completed")
    return job


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
    """Download model, metrics and plots into the local run's paths.

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
