"""Turn what the storage service (or the network) answered into one `EdgeTrainError` that says what to fix.

Used by the doctor and by container creation, so that every bad input (wrong key, expired or malformed SAS,
wrong endpoint, unknown container, rejected API version, untrusted certificate) reads the same everywhere.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from urllib.parse import parse_qs

from ml.errors import EdgeTrainError
from ml.storage.pin import ENV_API_VERSION, ENV_CA_BUNDLE


def sas_expiry(sas: str) -> datetime | None:
    """The `se` (signed expiry) of a SAS token, or None when it has none or it does not parse."""
    values = parse_qs(sas.lstrip("?")).get("se")
    if not values:
        return None
    try:
        return datetime.fromisoformat(values[0].replace("Z", "+00:00"))
    except ValueError:
        return None


def check_sas(sas: str) -> None:
    """Reject a SAS token that cannot work before sending it anywhere: malformed or already expired."""
    fields = parse_qs(sas.lstrip("?"))
    if not {"sig", "sv"} <= fields.keys():
        raise EdgeTrainError(
            "the SAS token is malformed: it has no 'sig' or 'sv' field",
            hint="copy the whole token (sv=...&sig=...) from the ASH portal or "
            "`az storage ... generate-sas`, without the leading URL",
        )
    expiry = sas_expiry(sas)
    if expiry is not None and expiry <= datetime.now(UTC):
        raise EdgeTrainError(
            f"the SAS token expired at {expiry:%Y-%m-%d %H:%M} UTC",
            hint="generate a new SAS token and run `edge-train data remote set` again",
        )


def explain_tls(host: str, exc: ssl.SSLError) -> EdgeTrainError:
    reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
    return EdgeTrainError(
        f"TLS: the certificate of {host} is not trusted ({reason})",
        hint="ASH endpoints often use a private CA: save its certificate chain as a PEM file and set "
        f"ca_bundle under [storage] in edge-train.toml (or {ENV_CA_BUNDLE}); REQUESTS_CA_BUNDLE does "
        "not reach DVC's storage client",
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps: HTTP stacks nest the SSL error under several layers."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if isinstance(item, BaseException) and all(item is not s for s in seen):
            seen.append(item)
            todo += [item.__cause__, item.__context__, getattr(item, "inner_exception", None), *item.args]
    return seen


def explain_unreachable(host: str, exc: Exception) -> EdgeTrainError:
    """A request that got no HTTP answer (`ServiceRequestError`, `ServiceResponseError`): TLS verification,
    a server that accepts connections and never answers, or the network."""
    from azure.core.exceptions import ServiceResponseError

    if isinstance(exc, ServiceResponseError):
        return EdgeTrainError(
            f"storage at {host} accepted the connection but sent no answer within the read timeout",
            hint="check that the endpoint (storage.blob_endpoint / endpoint_suffix and port) is the blob "
            "service, not another server or a stalled proxy; `edge-train data doctor` checks each layer",
        )
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError):
            return explain_tls(host, cause)
    message = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
    if "CERTIFICATE_VERIFY_FAILED" in message:
        return explain_tls(host, ssl.SSLError(message))
    return EdgeTrainError(
        f"storage request to {host} failed: {message}",
        hint="run `edge-train data doctor`: it checks DNS, TCP and TLS in turn",
    )


def explain_response(
    exc: Exception, *, container: str, uses_sas: bool, api_version: str | None
) -> EdgeTrainError:
    """An `HttpResponseError` from azure-storage-blob as a fix-it message (anything else: its text)."""
    status = getattr(exc, "status_code", None)
    raw_code = getattr(exc, "error_code", None) or ""
    code = str(getattr(raw_code, "value", raw_code))  # the SDK gives an enum for codes it knows
    if status == 400 and code in ("InvalidHeaderValue", "InvalidQueryParameterValue"):
        return EdgeTrainError(
            f"the storage service rejected API version {api_version or '(the SDK default)'} ({code})",
            hint='Azure Stack Hub accepts versions up to 2019-07-07: set api_version = "2019-07-07" under '
            f"[storage] in edge-train.toml (or {ENV_API_VERSION})",
        )
    if status == 403 and code in (
        "AuthenticationFailed",
        "AuthorizationFailure",
        "AuthorizationPermissionMismatch",
        "",
    ):
        what = "SAS token" if uses_sas else "account key"
        return EdgeTrainError(
            f"the storage service refused the {what} ({code or status})",
            hint=(
                f"check the {what} for this account (wrong value, expired, or missing permissions: the "
                "remote needs read, write, list, delete) and run `edge-train data remote set` again"
            ),
        )
    if status == 404 and code == "ContainerNotFound":
        return EdgeTrainError(
            f"the container '{container}' does not exist",
            hint="`edge-train data remote set` creates it, or create it in the ASH portal",
        )
    if status == 404:
        return EdgeTrainError(
            f"the storage endpoint answered 404 ({code or 'not found'})",
            hint="check storage.account and storage.endpoint_suffix / blob_endpoint",
        )
    message = " ".join(str(getattr(exc, "reason", None) or getattr(exc, "message", None) or exc).split())
    message = message.split(" ErrorCode:")[0][:200]
    return EdgeTrainError(
        f"storage request failed: HTTP {status or '?'} {message}".rstrip(),
        hint="a 5xx comes from the service or a proxy in between: check the endpoint "
        "(storage.blob_endpoint / endpoint_suffix) and run `edge-train data doctor`",
    )
