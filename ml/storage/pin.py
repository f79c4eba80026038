"""Pin the storage REST API version (and the CA bundle) in every blob client adlfs creates.

adlfs builds all its clients through `adlfs.spec.AIOBlobServiceClient` (directly, or through
`from_connection_string`, which calls the class). Replacing that name with a subclass that fills in
`api_version` and `connection_verify` when the caller did not is the one place that covers every client DVC
uses for push, pull, status -c and gc -c. The subclass also recognises the 400 `InvalidHeaderValue` a
storage service sends for an API version it does not support and says what to set, because DVC itself only
reports "failed to push data to the cloud".

Settings, first match wins: environment (`EDGE_TRAIN_STORAGE_API_VERSION`, `EDGE_TRAIN_STORAGE_CA_BUNDLE`;
an empty value means "do not pin"), then `[storage]` in the `edge-train.toml` of the repository the process
runs in, then the default 2019-07-07. Public Azure endpoints (`*.core.windows.net`) are never pinned unless
the environment asks for it: they accept current versions and ASH's limit does not apply to them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

DEFAULT_API_VERSION = "2019-07-07"  # = StorageSettings().api_version; a unit test keeps the two equal
ENV_API_VERSION = "EDGE_TRAIN_STORAGE_API_VERSION"
ENV_CA_BUNDLE = "EDGE_TRAIN_STORAGE_CA_BUNDLE"
PUBLIC_AZURE_SUFFIX = ".core.windows.net"
# The storage SDK's defaults wait 300 s per read and back off 15 s, 18 s, 24 s between tries: a storage
# server that accepts connections and never answers held `dvc push` for over 300 s, one that answered 502
# for over 900 s, one that refused for ~170 s. A request now gets 3 tries of at most 6 s each with 0.5 s
# and 2 s of backoff (< 30 s); a slow link can raise the read bound with this variable.
ENV_READ_TIMEOUT = "EDGE_TRAIN_STORAGE_READ_TIMEOUT"
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 6
RETRY_TOTAL = 2
_PATCHED = "__edge_train_pinned__"


@dataclass(frozen=True)
class Pin:
    """What every storage client should send: an API version (None: the SDK's own) and a CA bundle path."""

    api_version: str | None
    ca_bundle: str | None
    explicit: bool = False  # set by the environment: applies to public Azure endpoints too

    def applies_to(self, account_url: str) -> bool:
        host = urlsplit(account_url if "://" in account_url else f"https://{account_url}").hostname or ""
        return bool(self.api_version) and (self.explicit or not host.endswith(PUBLIC_AZURE_SUFFIX))


def resolve_pin(cwd: Path | None = None) -> Pin:
    """The pin for a process started in `cwd`: environment, else the repository's edge-train.toml."""
    if ENV_API_VERSION in os.environ:
        version = os.environ[ENV_API_VERSION].strip() or None
        return Pin(version, _ca_bundle(None, None), explicit=True)
    root, api_version, ca_bundle = _repository_storage(cwd or Path.cwd())
    return Pin(api_version.strip() or None, _ca_bundle(root, ca_bundle))


def _repository_storage(cwd: Path) -> tuple[Path | None, str, str]:
    """(root, api_version, ca_bundle) from the repository around `cwd`, defaults outside one."""
    from ml.errors import EdgeTrainError
    from ml.paths import repo_root

    try:
        root = repo_root(cwd)
    except EdgeTrainError:
        return None, DEFAULT_API_VERSION, ""
    plain = _plain_storage_keys(root)
    if plain is not None:
        return root, *plain
    from ml.config import load_settings  # pydantic: only for files the quick read cannot vouch for

    try:
        storage = load_settings(root).storage
        return root, storage.api_version, storage.ca_bundle
    except EdgeTrainError as exc:
        sys.stderr.write(f"edge-train: storage pin uses its defaults: {exc}\n")
        return None, DEFAULT_API_VERSION, ""


def _plain_storage_keys(root: Path) -> tuple[str, str] | None:
    """`[storage] api_version, ca_bundle` read with tomllib alone, or None when the file does not parse or
    holds other types there (then the validated settings decide and report the problem).

    Every `dvc` process that touches the remote resolves the pin; importing pydantic for it cost ~0.1 s each
    time, for two strings.
    """
    import tomllib

    from ml.paths import SETTINGS_FILE

    path = root / SETTINGS_FILE
    if not path.is_file():
        return DEFAULT_API_VERSION, ""
    try:
        storage = tomllib.loads(path.read_text(encoding="utf-8")).get("storage", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(storage, dict):
        return None
    api_version = storage.get("api_version", DEFAULT_API_VERSION)
    ca_bundle = storage.get("ca_bundle", "")
    if not isinstance(api_version, str) or not isinstance(ca_bundle, str):
        return None
    return api_version, ca_bundle


def _ca_bundle(root: Path | None, configured: str | None) -> str | None:
    value = os.environ.get(ENV_CA_BUNDLE) or configured or ""
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    return str(path)


def check_ca_bundle(pin: Pin) -> None:
    """A configured CA bundle must exist: otherwise every TLS handshake fails with an unrelated error."""
    if pin.ca_bundle and not Path(pin.ca_bundle).is_file():
        from ml.errors import EdgeTrainError

        raise EdgeTrainError(
            f"storage.ca_bundle (or {ENV_CA_BUNDLE}): {pin.ca_bundle} is not a file",
            hint="save the private CA's certificate chain as a PEM file at that path, or correct the setting",
        )


def version_rejected_message(sent: str | None) -> str:
    return (
        f"the storage service rejected API version {sent or '(the SDK default)'} (400 InvalidHeaderValue "
        f"x-ms-version). Azure Stack Hub accepts versions up to 2019-07-07: set api_version = "
        f'"2019-07-07" under [storage] in edge-train.toml, or {ENV_API_VERSION}=2019-07-07 '
        "(docs/data.md)"
    )


CREDENTIAL_REFUSED = ("AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch")


def credential_refused_message(code: str) -> str:
    return (
        f"the storage service refused the credential (403 {code}): the SAS token or account key in "
        ".dvc/config.local is wrong, expired or lacks a permission (read, write, list, delete); run "
        "`edge-train data doctor`, then `edge-train data remote set` with a new one"
    )


class _RejectionReporter:
    """A raw-response hook that explains, once per process on stderr, what DVC reports only as a bare error
    code: an API-version rejection (400) or a refused credential (403)."""

    reported = False

    def __call__(self, pipeline_response: Any) -> None:
        response = pipeline_response.http_response
        if _RejectionReporter.reported or response.status_code not in (400, 403):
            return
        code = response.headers.get("x-ms-error-code")
        if response.status_code == 400 and code == "InvalidHeaderValue":
            sent = pipeline_response.http_request.headers.get("x-ms-version")
            message = version_rejected_message(sent)
        elif response.status_code == 403 and code in CREDENTIAL_REFUSED:
            message = credential_refused_message(code)
        else:
            return
        _RejectionReporter.reported = True
        sys.stderr.write(f"edge-train: {message}\n")


def _proxy_or_netrc_configured() -> bool:
    """Whether aiohttp's `trust_env` (azure-core's `use_env_settings`, on by default) could find anything:
    a `*_proxy` variable or a netrc file. When it cannot, turning it off changes nothing but saves a netrc
    lookup on a worker thread and a proxy parse for every request: a few % of the client's CPU when DVC
    moves thousands of small files (docs/data.md)."""
    from urllib.request import getproxies_environment

    if getproxies_environment():
        return True
    netrc = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    return os.path.exists(netrc)


def _read_timeout() -> float:
    try:
        return float(os.environ.get(ENV_READ_TIMEOUT) or READ_TIMEOUT_S)
    except ValueError:
        sys.stderr.write(f"edge-train: {ENV_READ_TIMEOUT} is not a number; using {READ_TIMEOUT_S} s\n")
        return READ_TIMEOUT_S


def pinned_client_class(base: type, pin: Pin) -> type:
    """A subclass of the blob service client `base` that applies `pin` unless the caller chose otherwise."""

    class PinnedBlobServiceClient(base):  # type: ignore[misc, valid-type]
        def __init__(self, account_url: str, credential: Any = None, **kwargs: Any) -> None:
            if pin.applies_to(account_url):
                kwargs.setdefault("api_version", pin.api_version)
            if pin.ca_bundle:
                kwargs.setdefault("connection_verify", pin.ca_bundle)
            kwargs.setdefault("raw_response_hook", _RejectionReporter())
            kwargs.setdefault("connection_timeout", CONNECT_TIMEOUT_S)
            kwargs.setdefault("read_timeout", _read_timeout())
            kwargs.setdefault("retry_total", RETRY_TOTAL)
            kwargs.setdefault("initial_backoff", 0.5)  # the storage ExponentialRetry's 15 s default
            kwargs.setdefault("increment_base", 1.5)
            if not _proxy_or_netrc_configured():
                kwargs.setdefault("use_env_settings", False)
            super().__init__(account_url, credential=credential, **kwargs)

    PinnedBlobServiceClient.__name__ = base.__name__
    PinnedBlobServiceClient.__qualname__ = base.__qualname__
    setattr(PinnedBlobServiceClient, _PATCHED, pin)
    return PinnedBlobServiceClient


def patch_adlfs(spec_module: ModuleType, pin: Pin | None = None) -> None:
    """Replace `adlfs.spec.AIOBlobServiceClient` with the pinned subclass (idempotent)."""
    current = spec_module.AIOBlobServiceClient
    if getattr(current, _PATCHED, None) is not None:
        return
    spec_module.AIOBlobServiceClient = pinned_client_class(current, pin or resolve_pin())
