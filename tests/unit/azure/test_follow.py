"""`submit --wait` follows the job for real: every status, the failing node, its log lines, retries, cancel.

The SDK runs for real against the fake Azure (tests/unit/azure/fake_azure.py); time is a fake clock that
`sleep` advances, so hours of grace pass in milliseconds.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from azure.ai.ml._restclient.arm_ml_service.models import JobStatus as ArmJobStatus
from azure.ai.ml.operations._run_history_constants import JobStatus, RunHistoryConstants

from ml.azure.cancel import Interrupted, cancel_job, interruptible
from ml.azure.progress import Progress
from ml.azure.retry import Budget
from ml.azure.submit import ENDED, GRACE_SECONDS, IN_PROGRESS, follow
from ml.errors import EdgeTrainError

from .fake_azure import FakeAzure, FakeNode


class Clock:
    """`now` and `sleep` for `follow`: sleeping moves time on, nothing waits."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def follow_fast(ml_client, name: str, **kwargs):
    clock = Clock()
    return follow(ml_client, name, poll_seconds=15, sleep=clock.sleep, now=clock.now, **kwargs)


def test_every_status_the_sdk_knows_has_a_decision() -> None:
    sdk = {status.value for status in ArmJobStatus} | {
        value for key, value in vars(JobStatus).items() if key.isupper()
    }
    decided = IN_PROGRESS | ENDED | set(GRACE_SECONDS)

    assert sdk <= decided, f"statuses with no decision: {sdk - decided}"
    assert set(RunHistoryConstants.TERMINAL_STATUSES) <= ENDED | set(GRACE_SECONDS)
    assert not IN_PROGRESS & (ENDED | set(GRACE_SECONDS))


@pytest.mark.parametrize(
    ("states", "expected", "hint"),
    [
        (["Running", "Canceled"], "was canceled", "re-run `edge-train submit --wait`"),
        (["Running", "Paused"], "is Paused: it waits for someone to resume it", "resume or cancel it"),
        (["Running", "CancelRequested", "CancelRequested", "Canceled"], "was canceled", "re-run"),
    ],
)
def test_a_job_that_stops_without_completing_says_why_and_what_to_do(
    fake_azure: FakeAzure, ml_client, states: list[str], expected: str, hint: str
) -> None:
    fake_azure.job_states = states

    with pytest.raises(EdgeTrainError) as raised:
        follow_fast(ml_client, "gentle_job_5")

    assert expected in raised.value.message
    assert "https://ml.azure.com/runs/gentle_job_5" in raised.value.message
    assert hint in raised.value.hint


def test_a_cancel_that_never_finishes_ends_after_its_grace(fake_azure: FakeAzure, ml_client) -> None:
    fake_azure.job_states = ["Running", "CancelRequested"]

    with pytest.raises(EdgeTrainError, match=r"still CancelRequested after 600 s"):
        follow_fast(ml_client, "gentle_job_6")


def test_not_responding_is_waited_out_when_the_compute_comes_back(
    fake_azure: FakeAzure, ml_client, capsys
) -> None:
    fake_azure.job_states = ["Running", "NotResponding", "NotResponding", "Running", "Completed"]

    follow_fast(ml_client, "gentle_job_7")

    assert capsys.readouterr().out.count("NotResponding") == 1


def test_not_responding_past_its_grace_names_the_unreachable_compute(
    fake_azure: FakeAzure, ml_client
) -> None:
    fake_azure.job_states = ["Running", "NotResponding"]

    with pytest.raises(EdgeTrainError) as raised:
        follow_fast(ml_client, "gentle_job_8")

    assert "NotResponding for 900 s: the edge compute is not reachable" in raised.value.message
    assert "az connectedk8s show" in raised.value.hint


def test_a_failed_pipeline_reports_the_failing_node_its_error_and_its_link(
    fake_azure: FakeAzure, ml_client
) -> None:
    fake_azure.job_states = ["Running", "Failed"]
    fake_azure.run_error = {"code": "UserError", "message": "A child job failed"}  # the pipeline's own
    fake_azure.nodes = [
        FakeNode("fetch_data", ["Completed"], "0c0ffee0-0000-4000-8000-000000000001"),
        FakeNode(
            "prepare",
            ["Failed"],
            "0c0ffee0-0000-4000-8000-000000000002",
            error={
                "code": "UserError",
                "message": "Execution failed. User process 'python' exited with status code 1.\n"
                "Traceback (most recent call last): ...",
            },
        ),
        FakeNode("train", ["NotStarted"], "0c0ffee0-0000-4000-8000-000000000003"),
    ]

    with pytest.raises(EdgeTrainError) as raised:
        follow_fast(ml_client, "gentle_job_9")

    message = raised.value.message
    assert message.startswith("node prepare of pipeline job gentle_job_9 failed: UserError: Execution")
    assert "A child job failed" not in message and "Traceback" not in message
    assert "https://ml.azure.com/runs/0c0ffee0-0000-4000-8000-000000000002?wsid=" in message


def test_the_running_node_and_only_our_own_log_lines_are_shown_each_once(
    fake_azure: FakeAzure, ml_client, capsys
) -> None:
    first = b"pip noise\ntrain: loading 455 rows\n17.99,10.38,122.8,1\nradius: 17.99\n"
    train = FakeNode("train", ["Running"], "0c0ffee0-0000-4000-8000-000000000004", log=first)
    fake_azure.nodes = [train]
    fake_azure.job_states = ["Running", "Running", "Running", "Completed"]
    polls = iter(range(10))

    def grow_log(_: float) -> None:
        if next(polls) == 0:
            train.log += b"train: fitted (train accuracy 0.9868)\n20.57,17.77,132.9,1\n"

    follow(ml_client, "gentle_job_10", poll_seconds=0, sleep=grow_log)

    out = capsys.readouterr().out
    assert "running train" in out
    assert out.count("train: loading 455 rows") == 1
    assert out.count("train: fitted (train accuracy 0.9868)") == 1
    assert "17.99" not in out and "20.57" not in out and "pip noise" not in out and "radius" not in out
    assert "4 other log lines not shown (they may hold data)" in out
    ranges = [r.headers.get("Range") for r in fake_azure.requests if "/user_logs/" in r.path]
    assert ranges[:2] == ["bytes=0-", f"bytes={len(first)}-"]


def test_transient_503s_while_polling_are_retried_then_the_job_is_followed(
    fake_azure: FakeAzure, ml_client, capsys
) -> None:
    fake_azure.job_states = ["Running", "Completed"]
    fake_azure.fail_times("GET", r"/jobs/gentle_job_11$", [503, 503, 503, 503])

    job = follow_fast(ml_client, "gentle_job_11")

    assert job.status == "Completed"
    assert "retrying in 2 s (1/5)" in capsys.readouterr().err


def test_a_persistent_failure_while_polling_ends_in_one_line(fake_azure: FakeAzure, ml_client) -> None:
    fake_azure.fail_times("GET", r"/jobs/gentle_job_12$", [503] * 50)

    with pytest.raises(EdgeTrainError) as raised:
        follow_fast(ml_client, "gentle_job_12", budget=Budget(attempts=2))

    assert "\n" not in raised.value.message
    assert raised.value.message.startswith("lost contact with Azure ML while following job gentle_job_12")
    assert "gave up after 2 attempts" in raised.value.message
    assert "keeps running" in raised.value.hint


def test_an_interrupt_cancels_the_job_and_says_so(fake_azure: FakeAzure, ml_client) -> None:
    fake_azure.job_states = ["Running"]

    error = cancel_job(ml_client, "gentle_job_13", Interrupted(15), confirm_seconds=2)

    (cancel,) = fake_azure.cancels()
    assert cancel.path.endswith("/workspaces/edge-ws/jobs/gentle_job_13/cancel")
    assert "interrupted (SIGTERM): job gentle_job_13 cancelled (CancelRequested)" in error.message
    assert error.exit_code == 143


def test_an_interrupt_before_the_job_exists_cancels_nothing(fake_azure: FakeAzure, ml_client) -> None:
    fake_azure.fail("POST", r"/jobs/[^/]+/cancel$", 404, "UserError", "Job not found")

    error = cancel_job(ml_client, "gentle_job_14", Interrupted(2), confirm_seconds=2)

    assert error.message == "interrupted (SIGINT) before job gentle_job_14 was created: nothing runs in Azure"
    assert error.exit_code == 130


def test_in_ci_a_long_running_node_says_so_every_five_minutes_not_every_poll(capsys) -> None:
    clock = Clock()
    with Progress("gentle_job_15", now=clock.now) as progress:
        for _ in range(25):  # 25 polls, 15 s apart: 6 min of the same node running
            progress.update("Running", ["train"])
            clock.sleep(15)

    out = capsys.readouterr().out
    assert out.count("gentle_job_15: Running — running train") == 2
    assert "(5m00s)" in out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_each_stop_signal_interrupts_once_and_the_old_handlers_come_back(signum: signal.Signals) -> None:
    before = signal.getsignal(signum)

    with pytest.raises(Interrupted) as raised, interruptible():
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler raises before this ends

    assert raised.value.exit_code == 128 + signum
    assert signal.getsignal(signum) is before


def test_a_status_newer_than_edge_train_is_followed_with_a_warning(
    fake_azure: FakeAzure, ml_client, capsys
) -> None:
    fake_azure.job_states = ["Queued", "Rebalancing", "Completed"]

    follow_fast(ml_client, "gentle_job_16")

    assert "status Rebalancing is new to edge-train; following it as running" in capsys.readouterr().err


def test_a_log_line_cut_between_two_reads_is_shown_once_whole(
    fake_azure: FakeAzure, ml_client, capsys
) -> None:
    train = FakeNode("train", ["Running"], "0c0ffee0-0000-4000-8000-000000000005", log=b"train: fitt")
    fake_azure.nodes = [train]
    fake_azure.job_states = ["Running", "Running", "Running", "Completed"]

    def finish_the_line(_: float) -> None:
        if not train.log.endswith(b"\n"):
            train.log += b"ed on 455 rows\n"

    follow(ml_client, "gentle_job_17", poll_seconds=0, sleep=finish_the_line)

    out = capsys.readouterr().out
    assert out.count("train: fitted on 455 rows") == 1
    assert "train: fitt\n" not in out
