"""Ride out what a long follow meets: a dropped connection, a throttled (429) or failing (5xx) Azure answer.

azure-core already retries each request a little (`client.SDK_DEFAULTS`); this is the second, slower layer
for a job that runs for hours: the job keeps running in Azure while the service hiccups, so one bad minute
must not end `submit --wait`. The budget is bounded, and running out ends in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ml import console

T = TypeVar("T")

# What Azure documents as "try again": throttling, timeouts and server errors (azure-core retries the same).
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Budget:
    """Attempts per call and the backoff between them: 2, 4, 8, 16, 30 s, about a minute in all."""

    attempts: int = 6
    first_delay: float = 2.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.first_delay * 2 ** (attempt - 1), self.max_delay)


def is_transient(error: BaseException) -> bool:
    """A connection that failed or broke, or an HTTP status that says "later"; never a 4xx about us."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return True
    return isinstance(error, HttpResponseError) and error.status_code in TRANSIENT_STATUS


def first_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def retrying(
    call: Callable[[], T],
    *,
    what: str,
    budget: Budget = Budget(),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, retried on transient failures within `budget`; the last failure (or any other) propagates."""
    for attempt in range(1, budget.attempts):
        try:
            return call()
        except Exception as error:
            if not is_transient(error):
                raise
            delay = budget.delay(attempt)
            console.warn(
                f"{what}: {first_line(error)} — retrying in {delay:.0f} s ({attempt}/{budget.attempts - 1})"
            )
            sleep(delay)
    return call()
