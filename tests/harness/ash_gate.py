"""The "ASH profile" gate: a loopback reverse proxy that refuses what Azure Stack Hub blob storage refuses.

ASH accepts storage REST API versions up to 2019-07-07 only. Azurite accepts much newer ones, so a test
against bare Azurite would pass with a client that fails on ASH. The gate sits in front of Azurite and
answers a newer `x-ms-version` header (or SAS `sv` parameter) with the 400 `InvalidHeaderValue` ASH sends;
everything else is forwarded byte for byte. One JSON line per request goes to the log, so tests can prove
that no request carried a newer version and benchmarks can count the bytes that crossed the wire.

Run: `python -m tests.harness.ash_gate --upstream http://127.0.0.1:10000 --log gate.jsonl`; it prints
`listening on <port>` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

ASH_MAX_API_VERSION = "2019-07-07"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "te", "trailer", "upgrade"}
_CHUNK = 256 * 1024


def rejection(header: str, value: str) -> web.Response:
    """The response ASH gives for an API version it does not support (status, error code header, XML)."""
    request_id = str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidHeaderValue</Code>'
        "<Message>The value for one of the HTTP headers is not in the correct format.\n"
        f"RequestId:{request_id}\nTime:{now}</Message>"
        f"<HeaderName>{header}</HeaderName><HeaderValue>{value}</HeaderValue></Error>"
    )
    return web.Response(
        status=400,
        text=body,
        content_type="application/xml",
        headers={"x-ms-error-code": "InvalidHeaderValue", "x-ms-request-id": request_id},
    )


def too_new(
    headers: dict[str, str] | object, query: dict[str, str] | object, max_version: str
) -> tuple[str, str] | None:
    """The (header, value) that makes a request unacceptable to ASH, or None. Versions compare as dates."""
    version = headers.get("x-ms-version")  # type: ignore[attr-defined]
    if version and version > max_version:
        return "x-ms-version", version
    signed = query.get("sv")  # type: ignore[attr-defined]
    if signed and signed > max_version:
        return "sv", signed
    return None


class Gate:
    """The proxy application: check the version, forward, log one line."""

    def __init__(self, upstream: str, max_version: str, log: IO[str], upstream_ca: str | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.max_version = max_version
        self.log = log
        self.upstream_ca = upstream_ca  # the private CA of an HTTPS upstream
        self.session: ClientSession | None = None

    async def start(self, _app: web.Application) -> None:
        self.session = ClientSession(
            connector=TCPConnector(
                limit=0, ssl=ssl.create_default_context(cafile=self.upstream_ca) if self.upstream_ca else True
            ),
            auto_decompress=False,
            timeout=ClientTimeout(total=None, sock_connect=5),
        )

    async def stop(self, _app: web.Application) -> None:
        if self.session:
            await self.session.close()

    def record(
        self,
        request: web.Request,
        status: int,
        sent: int,
        received: int,
        started: float = 0.0,
        upstream_s: float = 0.0,
    ) -> None:
        """One line: what came in, what went out, and when (`start` epoch s; `ms` total; `upstream_ms` until
        the upstream's response headers, so a slow server and a slow client can be told apart)."""
        now = time.time()
        self.log.write(
            json.dumps(
                {
                    "method": request.method,
                    "path": request.path,
                    "x_ms_version": request.headers.get("x-ms-version"),
                    "sv": request.query.get("sv"),
                    "status": status,
                    "bytes_in": sent,
                    "bytes_out": received,
                    "start": round(started or now, 6),
                    "ms": round(1000 * (now - started), 3) if started else 0.0,
                    "upstream_ms": round(1000 * upstream_s, 3),
                }
            )
            + "\n"
        )
        self.log.flush()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.time()
        refused = too_new(request.headers, request.query, self.max_version)
        if refused:
            self.record(request, 400, 0, 0, started)
            return rejection(*refused)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        length = request.content_length or 0
        body = request.content.iter_chunked(_CHUNK) if length or request.body_exists else None
        assert self.session is not None
        try:
            async with self.session.request(
                request.method,
                self.upstream + request.path_qs,
                headers=headers,
                data=body,
                skip_auto_headers=("Content-Type", "User-Agent", "Accept-Encoding", "Accept"),
                allow_redirects=False,
            ) as upstream:
                upstream_s = time.time() - started
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for key, value in upstream.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        response.headers.add(key, value)
                await response.prepare(request)
                received = 0
                if request.method != "HEAD":
                    async for chunk in upstream.content.iter_chunked(_CHUNK):
                        received += len(chunk)
                        await response.write(chunk)
                await response.write_eof()
                self.record(request, upstream.status, length, received, started, upstream_s)
                return response
        except (TimeoutError, ClientError, ConnectionError) as exc:
            self.record(request, 502, length, 0, started)
            return web.Response(status=502, text=f"ASH gate: upstream unreachable: {exc}")


def build_app(
    upstream: str, max_version: str, log: IO[str], upstream_ca: str | None = None
) -> web.Application:
    gate = Gate(upstream, max_version, log, upstream_ca)
    app = web.Application(client_max_size=0)
    app.on_startup.append(gate.start)
    app.on_cleanup.append(gate.stop)
    app.router.add_route("*", "/{tail:.*}", gate.handle)
    return app


async def serve(
    upstream: str,
    port: int,
    max_version: str,
    log_path: Path,
    tls: tuple[str, str] | None = None,
    upstream_ca: str | None = None,
) -> None:
    """Serve until cancelled; `tls` (certificate, key) makes the gate answer HTTPS, as ASH endpoints do."""
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
    with log_path.open("a", encoding="utf-8") as log:
        runner = web.AppRunner(build_app(upstream, max_version, log, upstream_ca), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=context)
        await site.start()
        bound = runner.addresses[0][1]
        print(f"listening on {bound}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--upstream", required=True, help="Azurite's blob endpoint, e.g. http://127.0.0.1:10000"
    )
    parser.add_argument("--port", type=int, default=0, help="loopback port to listen on (0: any free one)")
    parser.add_argument("--max-version", default=ASH_MAX_API_VERSION)
    parser.add_argument("--log", type=Path, required=True, help="JSON-lines request log")
    parser.add_argument("--cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--key", help="the certificate's private key (PEM)")
    parser.add_argument("--upstream-ca", help="CA bundle that signed an HTTPS upstream's certificate")
    args = parser.parse_args(argv)
    tls = (args.cert, args.key) if args.cert else None
    try:
        asyncio.run(serve(args.upstream, args.port, args.max_version, args.log, tls, args.upstream_ca))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
