"""Valkey calls of the hot paths, pipelined automatically on one connection per worker.

Why: valkey-py spends about 150 µs of CPU on every call (a pool checkout that probes the
socket, an ``asyncio.timeout`` around each read and write, argument encoding), a third of a
lobby poll. Here every call made during one turn of the event loop is appended to a buffer,
the buffer goes out in one write on one shared connection, and the replies, which Valkey
sends back in order, resolve the callers' futures as they are parsed (by libvalkey, the C
parser valkey-py uses too). Under load that is about 20 µs per call (`bench/README.md`).

What goes through it: single commands and Lua scripts of the request paths (the lobby's
scripts, the throttle, the session read). Transactions, ``WATCH`` and blocking commands need
a connection of their own: they stay on the valkey-py client (``meet_core.state.valkey_client``).

Failures keep valkey-py's exception classes, so the application's handlers answer 503 for
both clients alike: ``ConnectionError`` when Valkey cannot be reached or the connection drops
(every call in flight fails; the next call reconnects), ``TimeoutError`` when Valkey has not
answered for ``timeout`` seconds while calls wait (the connection is dropped), and
``ResponseError`` for an error reply, which fails only its own call.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import libvalkey
from valkey import exceptions as errors
from valkey.asyncio.connection import SSLConnection, ValkeySSLContext, parse_url

from meet_core.valkey_sentinel import SentinelPrimary, is_sentinel_url

Arg = str | bytes | int | float


class Script(NamedTuple):
    """A Lua script and the SHA-1 name Valkey knows it by (``EVALSHA``)."""

    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Script:
        return cls(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())


def pack_command(args: Sequence[Arg]) -> bytes:
    """One command in RESP: an array of bulk strings (text as UTF-8, numbers in decimal).

    libvalkey's C packer (the same bytes, a third of the time); an argument it refuses (a bool,
    None...) is named by the loop below, as a ``DataError``.
    """
    try:
        return libvalkey.pack_command(tuple(args))  # type: ignore[no-any-return]
    except TypeError:
        pass
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, int) and not isinstance(arg, bool):
            data = b"%d" % arg
        elif isinstance(arg, float):
            data = repr(arg).encode()
        else:
            raise errors.DataError(f"invalid argument of type {type(arg).__name__}: {arg!r}")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Connection(asyncio.Protocol):
    """One socket to Valkey: a write buffer flushed once per loop turn, replies in order."""

    def __init__(self, timeout: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._reader = libvalkey.Reader(protocolError=errors.InvalidResponse, replyError=errors.ResponseError)
        self._pending: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._outgoing: list[bytes] = []
        self._last_progress = 0.0  # loop time of the last reply, or of the first call in flight
        self._watchdog: asyncio.TimerHandle | None = None

    # --------------------------------------------------------------------- protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        self._last_progress = self.loop.time()
        pending = self._pending
        while True:
            try:
                reply = reader.gets()
            except errors.InvalidResponse as exc:  # not RESP: the stream cannot be trusted
                self._fail(exc)
                return
            if reply is False:
                return
            if not pending:  # a reply nobody asked for: the stream is out of step
                self._fail(errors.InvalidResponse("unexpected reply from Valkey"))
                return
            future = pending.popleft()
            if future.done():  # its caller was cancelled
                continue
            if isinstance(reply, errors.ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(errors.ConnectionError(f"connection to Valkey lost: {exc or 'closed by the server'}"))

    # --------------------------------------------------------------------- calls

    def call(self, packed: bytes) -> asyncio.Future[Any]:
        """Queue one packed command; its reply (or error) resolves the returned future."""
        future = self.loop.create_future()
        if not self._pending:
            self._last_progress = self.loop.time()
            if self._watchdog is None:
                self._watchdog = self.loop.call_later(self.timeout, self._check_progress)
        self._pending.append(future)
        if not self._outgoing:
            self.loop.call_soon(self._flush)
        self._outgoing.append(packed)
        return future

    def _flush(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def _check_progress(self) -> None:
        """Drop the connection when calls have waited ``timeout`` seconds without a reply."""
        self._watchdog = None
        if self.closed or not self._pending:
            return
        late = self.loop.time() - self._last_progress
        if late >= self.timeout:
            self._fail(errors.TimeoutError(f"Valkey did not answer within {self.timeout:g} s"))
        else:
            self._watchdog = self.loop.call_later(self.timeout - late, self._check_progress)

    def _fail(self, exc: Exception) -> None:
        """Close for good and fail every call in flight with ``exc``."""
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self.transport is not None:
            self.transport.abort()
        while self._pending:
            future = self._pending.popleft()
            if not future.done():
                future.set_exception(exc)
        self._outgoing.clear()

    def close(self) -> None:
        if not self.closed:
            self._fail(errors.ConnectionError("the Valkey client was closed"))


class PipelinedValkey:
    """A Valkey client for the request paths: calls of one loop turn share one write.

    ``url`` is a ``REDIS_URL`` as valkey-py reads it (``redis://``, ``rediss://``,
    ``valkey://``, ``unix://``, with user, password and database), or a ``valkey+sentinel://``
    URL: the primary's address is then asked of the sentinels at each (re)connection, the
    connection must be to a primary (``ROLE``), and a ``READONLY`` reply (a demoted primary)
    drops it. The connection opens on the first call and again on the first call after it was lost.
    """

    def __init__(self, url: str, *, connect_timeout: float = 2, timeout: float = 5) -> None:
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._primary: SentinelPrimary | None = None
        params: dict[str, Any]
        if is_sentinel_url(url):
            self._primary = SentinelPrimary(url, connect_timeout=connect_timeout, timeout=timeout)
            primary = self._primary.url
            params = {"username": primary.username, "password": primary.password, "db": primary.db}
        else:
            params = parse_url(url)
        self._ssl = None
        if params.pop("connection_class", None) is SSLConnection:
            options = {key[4:]: params.pop(key) for key in list(params) if key.startswith("ssl_")}
            options.setdefault("cert_reqs", "required")  # valkey-py's default for rediss://
            self._ssl = ValkeySSLContext(**options).get()
        self._path: str | None = params.get("path")
        self._host: str = params.get("host", "localhost")
        self._port: int = int(params.get("port", 6379))
        self._handshake: list[list[Arg]] = []
        if params.get("password"):
            user = [params["username"]] if params.get("username") else []
            self._handshake.append(["AUTH", *user, params["password"]])
        if params.get("db"):
            self._handshake.append(["SELECT", int(params["db"])])
        if self._primary is not None:
            self._handshake.append(["ROLE"])  # last: its reply is checked in _open
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    async def execute(self, *args: Arg) -> Any:
        """Run one command; its reply as valkey-py gives it undecoded (bytes, int, list)."""
        packed = pack_command(args)
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
        try:
            return await connection.call(packed)
        except errors.ResponseError as exc:
            if self._primary is not None and str(exc).startswith("READONLY"):
                connection.close()  # a demoted primary: ask the sentinels again on the next call
                raise errors.ConnectionError(f"the Valkey primary was demoted: {exc}") from exc
            raise

    async def run_script(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        """``EVALSHA``, and ``EVAL`` once if Valkey does not know the script (it then does)."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except errors.ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self.execute("EVAL", script.source, len(keys), *keys, *args)

    async def aclose(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._primary is not None:
            await self._primary.aclose()

    async def _connect(self) -> _Connection:
        """Open the connection once, whoever asks for it first; the others wait for it."""
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = _Connection(self.timeout)
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self._path is not None:
                    await loop.create_unix_connection(lambda: connection, self._path)
                else:
                    host, port = self._host, self._port
                    if self._primary is not None:
                        host, port = await self._primary.address()
                    await loop.create_connection(lambda: connection, host, port, ssl=self._ssl)
                reply: Any = None
                for command in self._handshake:  # replies in order; an error reply raises
                    reply = await connection.call(pack_command(command))
                if self._primary is not None and reply[0] not in (b"master", b"primary"):
                    raise errors.ConnectionError(f"the Valkey at {host}:{port} is not the primary yet")
        except (TimeoutError, OSError, errors.ConnectionError) as exc:
            connection.close()
            raise errors.ConnectionError(f"cannot connect to Valkey: {exc!r}") from exc
        except errors.ResponseError as exc:
            connection.close()
            raise errors.ConnectionError(f"Valkey refused the connection: {exc}") from exc
        self._connection = connection
        return connection
