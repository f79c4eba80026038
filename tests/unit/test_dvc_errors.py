"""A failed DVC command says why: DVC wraps the cause ("exited with 1") in a bare summary."""

from __future__ import annotations

from dvc.exceptions import ReproductionError
from dvc.stage.exceptions import StageCmdFailedError

from ml.dvc import dvc_cause


def test_the_cause_of_a_failed_reproduction_is_shown() -> None:
    try:
        try:
            raise StageCmdFailedError("python -m ml.steps.evaluate", 1)
        except StageCmdFailedError as cause:
            raise ReproductionError("failed to reproduce 'evaluate'") from cause
    except ReproductionError as exc:
        message = dvc_cause(exc)
    assert message.startswith("failed to reproduce 'evaluate': ")
    assert "python -m ml.steps.evaluate" in message and "exited with 1" in message
