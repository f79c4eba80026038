"""Log in to Azure Container Registry without a Docker daemon: Entra ID token → ACR refresh token.

ACR's `/oauth2/exchange` endpoint trades an Entra ID access token (from `azure-identity`: the OIDC login in
GitHub Actions, `az login` on a laptop) for an ACR refresh token. Registry clients (buildah, skopeo) then use
it as the password of the fixed user `00000000-0000-0000-0000-000000000000`. No admin user, no stored secret.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from ml.errors import EdgeTrainError

ACR_USERNAME = "00000000-0000-0000-0000-000000000000"
ARM_SCOPE = "https://management.azure.com/.default"


def is_acr(registry: str) -> bool:
    return registry.split("/")[0].split(":")[0].endswith(".azurecr.io")


def entra_token(scope: str = ARM_SCOPE) -> str:
    """An Entra ID access token for the signed-in identity (OIDC in CI, az login locally)."""
    from azure.core.exceptions import ClientAuthenticationError

    from ml.azure.client import default_credential

    try:
        return default_credential().get_token(scope).token  # in Actions: a fresh OIDC sign-in
    except ClientAuthenticationError as exc:
        raise EdgeTrainError(
            "no Azure identity to log in to ACR with",
            hint="run `az login` locally; in GitHub Actions use azure/login with OIDC",
        ) from exc


def exchange_refresh_token(
    registry: str,
    access_token: str,
    tenant: str | None = None,
    base_url: str | None = None,
    timeout: float = 30,
) -> str:
    """POST /oauth2/exchange and return the ACR refresh token (never printed or logged)."""
    host = registry.split("/")[0]
    form = {"grant_type": "access_token", "service": host, "access_token": access_token}
    if tenant:
        form["tenant"] = tenant
    request = urllib.request.Request(
        f"{base_url or 'https://' + host}/oauth2/exchange",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise EdgeTrainError(
            f"ACR {host} refused the Entra ID token (HTTP {exc.code})",
            hint="the identity needs the AcrPush role on the registry; check [azure] acr in edge-train.toml",
        ) from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise EdgeTrainError(
            f"cannot reach ACR {host}: {getattr(exc, 'reason', exc)}",
            hint="check the registry name and the network route to it",
        ) from None
    token = body.get("refresh_token") if isinstance(body, dict) else None
    if not token:
        raise EdgeTrainError(
            f"ACR {host} answered the token exchange without a refresh_token",
            hint="check that the registry is an Azure Container Registry",
        )
    return token


def acr_credentials(registry: str, tenant: str | None = None) -> tuple[str, str]:
    """(username, password) for buildah/skopeo against ACR."""
    return ACR_USERNAME, exchange_refresh_token(registry, entra_token(), tenant)
