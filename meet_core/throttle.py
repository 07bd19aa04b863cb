"""Rate limits kept in Valkey so they hold across workers and hosts (spec/api.md §0.7).

A fixed window per (scope, key), counted by one Lua script (``INCR``, and ``EXPIRE`` on the
first hit of a window): one round trip. Over the limit: 429 ``{"detail": "Request was
throttled. Expected available in N seconds."}`` with ``Retry-After: N``.

A hot path that makes a Valkey script call anyway can count the hit inside it instead of
paying a second round trip: its script starts with :data:`THROTTLE_LUA`, calls
``over_limit(key, period, limit)`` first (once per hit), returns ``{-1, wait}`` when that
gives a wait, and takes :meth:`Throttle.key`, :attr:`Throttle.period` and
:attr:`Throttle.limit` as its last keys and arguments; the caller then raises
:func:`throttled` (the lobby's poll does).
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from litestar import Request

from meet_core.http.errors import ApiError
from meet_core.http.raw import header
from meet_core.pipelined_valkey import Script
from meet_core.state import pipelined_valkey, trusted_proxies

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")

#: Lua: ``over_limit(key, period, limit)`` counts one hit and returns the seconds to wait
#: when the window's count is over ``limit``, else false.
THROTTLE_LUA = """
local function over_limit(key, period, limit)
  local hits = redis.call('INCR', key)
  if hits == 1 then redis.call('EXPIRE', key, period) end
  if hits <= tonumber(limit) then return false end
  local wait = redis.call('TTL', key)
  if wait < 1 then wait = 1 end
  return wait
end
"""

# KEYS: one per hit. ARGV: period, limit of each hit in turn. The first hit over its rate
# stops the count (the later ones are not counted) and its wait is returned; else 0.
_THROTTLE = Script.of(
    THROTTLE_LUA
    + """
for i, key in ipairs(KEYS) do
  local wait = over_limit(key, ARGV[2 * i - 1], ARGV[2 * i])
  if wait then return wait end
end
return 0
"""
)


@functools.lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[int, int]:
    """``"150/minute"`` -> (150, 60). DRF also accepts the first letter (``"10/m"``)."""
    match = _RATE.match(rate.lower())
    if not match:
        raise ValueError(f"invalid throttle rate {rate!r}, expected e.g. '150/minute'")
    count, multiplier, unit = match.groups()
    period = _PERIODS.get(unit) or _PERIODS.get(unit[0])
    if period is None:
        raise ValueError(f"invalid throttle period in {rate!r}")
    return int(count), period * (int(multiplier) if multiplier else 1)


class Throttle(NamedTuple):
    """One hit to count: ``scope`` and ``bucket`` name the window, ``rate`` its size."""

    scope: str
    bucket: str
    rate: str

    @property
    def key(self) -> str:
        return f"throttle:{self.scope}:{self.bucket}"

    @property
    def limit(self) -> int:
        return parse_rate(self.rate)[0]

    @property
    def period(self) -> int:
        return parse_rate(self.rate)[1]


def throttled(wait: int) -> ApiError:
    """The 429 of a request over its rate, to be retried in ``wait`` seconds."""
    wait = max(int(wait), 1)
    unit = "second" if wait == 1 else "seconds"
    message = f"Request was throttled. Expected available in {wait} {unit}."
    return ApiError(429, {"detail": message}, {"Retry-After": str(wait)})


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address: the socket peer, or what a ``TRUSTED_PROXIES`` peer forwards.

    ``X-Forwarded-For`` from any other peer is ignored: rotating it must not give a client a
    fresh throttle window per request (meet_core/http/proxies.py).
    """
    client = request.scope.get("client")
    peer = client[0] if client else "unknown"
    proxies = trusted_proxies(request)
    if not proxies:
        return peer
    return proxies.client(peer, header(request, b"x-forwarded-for"))


async def throttle(request: Request[Any, Any, Any], scope: str, key: str, rate: str) -> None:
    """Count one hit of ``key`` in ``scope``; 429 when over ``rate``."""
    await count_hit(request, Throttle(scope, key, rate))


async def count_hit(request: Request[Any, Any, Any], *hits: Throttle) -> None:
    """Count each of ``hits`` in turn (one round trip); 429 when a window is over its rate."""
    wait = int(
        await pipelined_valkey(request).run_script(
            _THROTTLE, [hit.key for hit in hits], [arg for hit in hits for arg in (hit.period, hit.limit)]
        )
    )
    if wait:
        raise throttled(wait)
