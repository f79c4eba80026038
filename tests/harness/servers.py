"""Start and stop Azurite and the ASH gate as child processes on loopback ports they pick.

Child processes rather than threads: the fault tests kill Azurite mid-transfer and start it again on the same
port and folder, and neither server should compete with the test process for the GIL.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's development account: public, documented by Microsoft, never a real secret.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> str | None:
    found = shutil.which("azurite-blob")
    return found or (str(AZURITE_BIN) if AZURITE_BIN.exists() else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def _stop(process: subprocess.Popen[bytes] | None, hard: bool = False) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL if hard else signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Azurite:
    """Azurite's blob service with its data in `location`; stop() and start() again keep the data."""

    location: Path
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()  # e.g. ("--cert", pem, "--key", key) to serve HTTPS
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = azurite_binary()
        if binary is None:
            raise FileNotFoundError("azurite-blob not found: run `bash tests/tools/install.sh`")
        self.location.mkdir(parents=True, exist_ok=True)
        command = [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--location",
            str(self.location),
            "--silent",
            "--skipApiVersionCheck",
            *self.extra_args,
        ]
        with (self.location / "azurite.err").open("ab") as errors:
            self.process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
            )
        wait_for_port(self.port)

    def stop(self, hard: bool = False) -> None:
        """Stop the server; `hard` kills it as a crash or power cut would (no clean shutdown)."""
        _stop(self.process, hard=hard)

    @property
    def url(self) -> str:
        scheme = "https" if "--cert" in self.extra_args else "http"
        return f"{scheme}://127.0.0.1:{self.port}"


@dataclass
class AshGate:
    """The gate process (see `tests.harness.ash_gate`) in front of `upstream`, logging to `log`."""

    upstream: str
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    tls: tuple[Path, Path, Path] | None = None  # (CA, certificate, key): serve HTTPS, trust an HTTPS upstream

    def start(self) -> None:
        tls_args = []
        if self.tls:
            ca, cert, key = self.tls
            tls_args = ["--cert", str(cert), "--key", str(key), "--upstream-ca", str(ca)]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.harness.ash_gate",
                "--upstream",
                self.upstream,
                "--port",
                str(self.port),
                "--log",
                str(self.log),
                *tls_args,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("listening on "):
            _stop(self.process)
            raise RuntimeError(f"ASH gate did not start: {line!r}")
        self.port = int(line.split()[-1])

    def stop(self) -> None:
        _stop(self.process)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def requests(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@dataclass
class Stack:
    """Azurite behind the gate: what an ASH storage account looks like to a client on this machine."""

    azurite: Azurite
    gate: AshGate

    @property
    def blob_endpoint(self) -> str:
        return f"{self.gate.url}/{ACCOUNT}"

    @property
    def ca(self) -> Path | None:
        """The private CA that signed the endpoint's certificate (None when it speaks plain HTTP)."""
        return self.gate.tls[0] if self.gate.tls else None

    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol={'https' if self.ca else 'http'};AccountName={ACCOUNT};"
            f"AccountKey={ACCOUNT_KEY};BlobEndpoint={self.blob_endpoint};"
        )


@contextlib.contextmanager
def running_stack(workdir: Path, tls: bool = False) -> Iterator[Stack]:
    """Azurite with its data under `workdir`, the gate in front of it; both stopped on exit.

    `tls`: both speak HTTPS with certificates from one private CA (`Stack.ca`), as an ASH endpoint does.
    """
    certificates = None
    if tls:
        from tests.harness.tls import private_ca

        (workdir / "tls").mkdir(parents=True, exist_ok=True)
        certificates = private_ca(workdir / "tls", "127.0.0.1")
    extra = ("--cert", str(certificates[1]), "--key", str(certificates[2])) if certificates else ()
    azurite = Azurite(workdir / "azurite", extra_args=extra)
    azurite.start()
    gate = AshGate(upstream=azurite.url, log=workdir / "gate.jsonl", tls=certificates)
    try:
        gate.start()
        yield Stack(azurite, gate)
    finally:
        gate.stop()
        azurite.stop()


def account_sas(expiry: datetime, version: str = "2019-07-07", permissions: str = "rwdlac") -> str:
    """An account SAS for Azurite's account, signed for `version` as ASH signs them (no encryption scope).

    The SDK's generator always signs with its newest version, which ASH (and the gate) refuse.
    """
    fields = {
        "sv": version,
        "ss": "b",
        "srt": "sco",
        "sp": permissions,
        "se": expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "spr": "https,http",
    }
    to_sign = "\n".join(
        [
            ACCOUNT,
            fields["sp"],
            fields["ss"],
            fields["srt"],
            "",
            fields["se"],
            "",
            fields["spr"],
            fields["sv"],
            "",
        ]
    )
    digest = hmac.new(base64.b64decode(ACCOUNT_KEY), to_sign.encode(), hashlib.sha256).digest()
    return urlencode({**fields, "sig": base64.b64encode(digest).decode()})
