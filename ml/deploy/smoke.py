"""The smoke test a new deployment must pass before it gets traffic: the same one for every target.

`/ping` answers, `/version` names the version being deployed, and one synthetic row (made up from the
schema, never a real one) scores into exactly one prediction. Every call has a timeout; nothing is retried
beyond `wait_seconds` for the server to come up.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from ml.errors import EdgeTrainError


def synthetic_payload() -> dict:
    """One row with the model's columns and made-up values, in MLflow's `dataframe_split` format."""
    from ml.modelio import synthetic_example
    from ml.steps.schema import load_schema

    row = synthetic_example(load_schema(), rows=1)
    return {"dataframe_split": {"columns": list(row.columns), "data": row.to_numpy().tolist()}}


@dataclass(frozen=True)
class Endpoint:
    """Where the smoke test talks to: a base URL (`/ping`, `/version`) and a scoring URL, plus headers
    (the Azure ML key and the deployment to route to).

    An Azure ML endpoint forwards only its scoring URI to the container, so there `base_url` is "": the
    service itself probes `/ping` (readiness) before the deployment reports Succeeded, and the version is
    checked on the image the deployment reports (`ml.deploy.azureml`)."""

    base_url: str
    scoring_url: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def local(cls, base_url: str) -> Endpoint:
        return cls(base_url.rstrip("/"), f"{base_url.rstrip('/')}/invocations")


def smoke_test(endpoint: Endpoint, version: str, timeout: float = 10, wait_seconds: float = 60) -> None:
    """Raise `EdgeTrainError` naming the first check that fails."""
    if endpoint.base_url:
        _check_version(endpoint, version, timeout, wait_seconds)
    scored = _call(endpoint, endpoint.scoring_url, synthetic_payload(), timeout)
    predictions = scored.get("predictions") if isinstance(scored, dict) else None
    if not isinstance(predictions, list) or len(predictions) != 1:
        raise EdgeTrainError(
            f"smoke test: one row scored into {str(scored)[:120]!r}, not one prediction",
            hint="the image's scoring server does not answer MLflow's contract: rebuild with edge-train push",
        )


def _check_version(endpoint: Endpoint, version: str, timeout: float, wait_seconds: float) -> None:
    _wait_for_ping(endpoint, timeout, wait_seconds)
    answered = _call(endpoint, f"{endpoint.base_url}/version", None, timeout)
    if not isinstance(answered, dict) or answered.get("version") != version:
        got = answered.get("version") if isinstance(answered, dict) else answered
        raise EdgeTrainError(
            f"smoke test: /version says {got!r}, not {version}",
            hint="the deployment serves another image than the version's: check the image reference",
        )


def _wait_for_ping(endpoint: Endpoint, timeout: float, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            _request(endpoint, f"{endpoint.base_url}/ping", None, timeout)
            return
        except EdgeTrainError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def _call(endpoint: Endpoint, url: str, body: object, timeout: float) -> object:
    raw = _request(endpoint, url, body, timeout)
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise EdgeTrainError(
            f"smoke test: {url} answered {raw[:80]!r}, not JSON", hint="check the image's scoring server"
        ) from None


def _request(endpoint: Endpoint, url: str, body: object, timeout: float) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    headers = {**endpoint.headers, **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise EdgeTrainError(
            f"smoke test: {url} answered HTTP {exc.code}", hint="read the deployment's container logs"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise EdgeTrainError(
            f"smoke test: cannot reach {url}: {getattr(exc, 'reason', exc)}",
            hint="check that the deployment is running and its address is reachable from here",
        ) from None
