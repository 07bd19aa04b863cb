"""A round-robin HTTP reverse proxy on loopback, for scale-out tests (several ``meet serve``).

Each request goes to the next backend in turn, so consecutive requests of one client land on
different processes. The proxy keeps no connection open: it forwards one request per client
connection with ``Connection: close`` both ways, which keeps it small and the spread exact.

It connects to the backends from ``source_address`` (default ``127.0.0.2``: any 127/8 address
is loopback on Linux), so the servers can trust it alone (``TRUSTED_PROXIES=127.0.0.2``) while
clients connect from 127.0.0.1. Like nginx's ``$proxy_add_x_forwarded_for``, it appends the
client's address to ``X-Forwarded-For``. Each answer carries ``X-Meet-Backend: <index>``, and
:attr:`RoundRobinProxy.counts` counts the requests each backend received.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

_HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"upgrade"}
BACKEND_HEADER = "x-meet-backend"


class RoundRobinProxy:
    """``with RoundRobinProxy([url_a, url_b, url_c]) as proxy:`` then requests to ``proxy.url``."""

    def __init__(self, backends: Sequence[str], *, source_address: str = "127.0.0.2") -> None:
        self.backends = [
            (urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 80) for url in backends
        ]
        self.source_address = source_address
        self.counts = [0] * len(self.backends)
        self.port = 0
        self._turn = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RoundRobinProxy:
        """Serve from a thread of its own (tests may block their own loop on subprocesses)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            try:
                server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            except BaseException as exc:  # reported by start()
                failure.append(exc)
                ready.set()
                return
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            async with server:
                await self._stopped.wait()

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), name="test-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._stopped = self._thread = None

    def reset_counts(self) -> None:
        self.counts = [0] * len(self.backends)

    def __enter__(self) -> RoundRobinProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ----------------------------------------------------------------------- one request

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._forward(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away, or sent no complete request
        finally:
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, headers = _parse_head(head)
        if any(name == b"transfer-encoding" for name, _ in headers):
            writer.write(_simple_response(501, b"chunked request bodies are not proxied"))
            return
        length = next((int(value) for name, value in headers if name == b"content-length"), 0)
        body = await reader.readexactly(length) if length else b""
        peer = writer.get_extra_info("peername")[0].encode()
        forwarded = [value for name, value in headers if name == b"x-forwarded-for"]
        headers = [(n, v) for n, v in headers if n not in _HOP_BY_HOP and n != b"x-forwarded-for"]
        headers += [(b"X-Forwarded-For", b", ".join([*forwarded, peer])), (b"Connection", b"close")]

        index = next(self._turn) % len(self.backends)
        self.counts[index] += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                *self.backends[index], local_addr=(self.source_address, 0)
            )
        except OSError as exc:
            writer.write(_simple_response(502, f"backend {index} unreachable: {exc}".encode(), index))
            return
        try:
            upstream_writer.write(_build_head(request_line, headers) + body)
            await upstream_writer.drain()
            status_line, response_headers = _parse_head(await upstream_reader.readuntil(b"\r\n\r\n"))
            response_headers = [(n, v) for n, v in response_headers if n not in _HOP_BY_HOP]
            response_headers += [(b"Connection", b"close"), (BACKEND_HEADER.encode(), b"%d" % index)]
            writer.write(_build_head(status_line, response_headers))
            while chunk := await upstream_reader.read(65536):
                writer.write(chunk)
            await writer.drain()
        finally:
            upstream_writer.close()


def _parse_head(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The first line and the header fields (names lower-cased) of a request or response head."""
    first, *lines = head[:-4].split(b"\r\n")
    fields = []
    for line in lines:
        name, _, value = line.partition(b":")
        fields.append((name.strip().lower(), value.strip()))
    return first, fields


def _build_head(first: bytes, fields: list[tuple[bytes, bytes]]) -> bytes:
    return first + b"\r\n" + b"".join(b"%s: %s\r\n" % field for field in fields) + b"\r\n"


def _simple_response(status: int, text: bytes, backend: int | None = None) -> bytes:
    fields = [
        (b"Content-Type", b"text/plain"),
        (b"Content-Length", b"%d" % len(text)),
        (b"Connection", b"close"),
    ]
    if backend is not None:
        fields.append((BACKEND_HEADER.encode(), b"%d" % backend))
    return _build_head(b"HTTP/1.1 %d Proxy" % status, fields) + text
