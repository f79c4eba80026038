"""Sign in from GitHub Actions for as long as the job runs, not just for the first access token.

`azure/login` with OIDC hands the Azure CLI one GitHub ID token; the CLI cannot fetch another, so once that
token (minutes) and the access token bought with it (about an hour) expire, every call fails with
AADSTS700024 (azure-cli issue 28708). A `ClientAssertionCredential` calls its callback each time it needs a
new access token; ours asks the Actions token endpoint for a fresh ID token every time, so a `submit --wait`
of six hours keeps working. The job needs `permissions: id-token: write` (that is what sets the variables).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ml.errors import EdgeTrainError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
# The audience Entra ID expects in a federated credential's assertion (the azure/login default).
AUDIENCE = "api://AzureADTokenExchange"
TIMEOUT_SECONDS = 10.0


def oidc_available(env: Mapping[str, str]) -> bool:
    """True in a GitHub Actions job with `permissions: id-token: write` (the runner sets both variables)."""
    return bool(env.get(REQUEST_URL) and env.get(REQUEST_TOKEN))


def github_id_token(env: Mapping[str, str] | None = None) -> str:
    """A fresh GitHub OIDC ID token for Entra ID: GET the request URL with the request token as bearer."""
    env = os.environ if env is None else env
    url = env[REQUEST_URL]
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    request = urllib.request.Request(
        f"{url}{separator}audience={urllib.parse.quote(AUDIENCE, safe='')}",
        headers={"Authorization": f"Bearer {env[REQUEST_TOKEN]}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            token = json.load(response).get("value")
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise EdgeTrainError(
            f"GitHub Actions OIDC token request failed: {error}",
            hint="give the job `permissions: id-token: write`; fork pull requests get no OIDC token",
        ) from None
    if not token:
        raise EdgeTrainError(
            "GitHub Actions OIDC token endpoint answered without a token",
            hint="give the job `permissions: id-token: write`",
        )
    return str(token)


def github_actions_credential(tenant_id: str, client_id: str) -> TokenCredential:
    """A `ClientAssertionCredential` for the app `client_id` in `tenant_id`, a fresh GitHub token each time.

    The authority is azure-identity's default (AZURE_AUTHORITY_HOST, else the public cloud).
    """
    from azure.identity import ClientAssertionCredential

    env = dict(os.environ)
    return ClientAssertionCredential(
        tenant_id=tenant_id,
        client_id=client_id,
        func=lambda: github_id_token(env),
        connection_timeout=TIMEOUT_SECONDS,
        read_timeout=30,
    )
