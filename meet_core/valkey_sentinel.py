"""Valkey behind Sentinel: ``REDIS_URL=valkey+sentinel://host:26379,host2:26379/mymaster/0``.

Why: one Valkey is a single point of failure for every host (sessions, lobby, throttles).
With Sentinel, the clients ask the sentinels where the primary is, and ask again when the
connection to it is lost or it answers ``READONLY`` (it was demoted): after a failover the
servers carry on, without a restart, once the sentinels have promoted a replica.

valkey-py has the Sentinel client but no URL form for it; this module reads one (the form of
docs/configuration.md) and builds both clients of an application from it:
:func:`sentinel_client` for :func:`meet_core.cache.connect`, and :class:`SentinelPrimary`,
which :class:`meet_core.pipelined_valkey.PipelinedValkey` asks for the primary's address each
time it (re)connects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from valkey.asyncio import Valkey
from valkey.asyncio.sentinel import Sentinel

SCHEMES = ("valkey+sentinel", "redis+sentinel")
DEFAULT_PORT = 26379
_QUERY_OPTIONS = {"sentinel_username", "sentinel_password"}


@dataclass(frozen=True)
class SentinelURL:
    """What a ``valkey+sentinel://`` URL says (credentials in the userinfo are the primary's)."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() in SCHEMES


def parse_sentinel_url(url: str) -> SentinelURL:
    """``valkey+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?options]``.

    Options: ``sentinel_username``, ``sentinel_password`` (when the sentinels require their
    own credentials). A ValueError says what is wrong.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise ValueError(f"not a Sentinel URL (expected {' or '.join(s + '://' for s in SCHEMES)})")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = tuple(_address(part) for part in hosts.split(",") if part)
    if not sentinels:
        raise ValueError("a Sentinel URL names at least one sentinel (host:port)")
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ValueError("a Sentinel URL's path is /<service name>[/<database number>]")
    try:
        db = int(parts[1]) if len(parts) == 2 else 0
    except ValueError:
        raise ValueError(f"invalid database number {parts[1]!r} in the Sentinel URL") from None
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = set(options) - _QUERY_OPTIONS
    if unknown:
        raise ValueError(f"unknown option(s) in the Sentinel URL: {', '.join(sorted(unknown))}")
    return SentinelURL(
        sentinels=sentinels,
        service=parts[0],
        db=db,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
    )


def _address(part: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[::1]:port`` -> (host, port)."""
    if part.startswith("["):
        host, _, port = part[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
    if not host:
        raise ValueError(f"invalid sentinel address {part!r}")
    try:
        return host, int(port) if port else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"invalid port in sentinel address {part!r}") from None


def _sentinel(parsed: SentinelURL, connect_timeout: float, timeout: float) -> Sentinel:
    options: dict[str, Any] = {"socket_connect_timeout": connect_timeout, "socket_timeout": timeout}
    if parsed.sentinel_username:
        options["username"] = parsed.sentinel_username
    if parsed.sentinel_password:
        options["password"] = parsed.sentinel_password
    return Sentinel(list(parsed.sentinels), sentinel_kwargs=options)


async def _close_sentinels(sentinel: Sentinel) -> None:
    for client in sentinel.sentinels:
        await client.aclose()


class _SentinelValkey(Valkey):
    """valkey-py's client on a Sentinel pool, whose ``aclose`` closes the sentinels' too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        await _close_sentinels(self.connection_pool.sentinel_manager)  # type: ignore[attr-defined]


def sentinel_client(url: str, **options: Any) -> Valkey:
    """A valkey-py client of the primary: each new connection asks the sentinels where it is,
    and a ``READONLY`` answer (a demoted primary) drops the connection (valkey-py's pool)."""
    parsed = parse_sentinel_url(url)
    sentinel = _sentinel(parsed, options.get("socket_connect_timeout", 2), options.get("socket_timeout", 5))
    return sentinel.master_for(
        parsed.service,
        valkey_class=_SentinelValkey,
        db=parsed.db,
        username=parsed.username,
        password=parsed.password,
        **options,
    )


class SentinelPrimary:
    """Where the primary of a Sentinel URL is now, for a client that opens its own sockets."""

    def __init__(self, url: str, *, connect_timeout: float = 2, timeout: float = 5) -> None:
        self.url = parse_sentinel_url(url)
        self._sentinel = _sentinel(self.url, connect_timeout, timeout)

    async def address(self) -> tuple[str, int]:
        """Ask the sentinels (the first that knows a primary not seen down answers).

        Raises ``valkey.exceptions.ConnectionError`` (``MasterNotFoundError``) when none does.
        """
        host, port = await self._sentinel.discover_master(self.url.service)
        return str(host), int(port)

    async def aclose(self) -> None:
        await _close_sentinels(self._sentinel)
