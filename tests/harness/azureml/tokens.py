"""Unsigned JWTs for the fakes: clients read only `exp` (the fakes `aud`); nobody verifies a signature.

Entra ID and Azure ML issue signed tokens; the job's clients treat them as opaque bearer strings except for
the expiry, which azure-identity takes from `expires_on` and azureml-mlflow decodes from the JWT's `exp`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def make_token(audience: str, lifetime_s: int = 3600, **claims: object) -> str:
    now = int(time.time())
    payload = {"aud": audience, "iat": now, "nbf": now, "exp": now + lifetime_s, "jti": uuid.uuid4().hex}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**payload, **claims})}."


def claims(token: str) -> dict[str, object]:
    """The payload of a token made by `make_token` ({} for anything else)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
