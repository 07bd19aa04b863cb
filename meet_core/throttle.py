"""Rate limits kept in Valkey so they hold across workers and hosts (spec/api.md §0.7).

A fixed window per (scope, key), counted by one Lua script (``INCR``, and ``EXPIRE`` on the
first hit of a window): one round trip. Over the limit: 429 ``{"detail": "Request was
throttled. Expected available in N seconds."}`` with ``Retry-After: N``.

A hot path that makes a Valkey script call anyway can count the hit inside it instead of
paying a second round trip: its script starts with :data:`THROTTLE_LUA`, calls
``over_limit(key, period, limit)`` first, returns ``{-1, wait}`` when that gives a wait,
and takes :meth:`Throttle.key`, :attr:`Throttle.period` and :attr:`Throttle.limit` as its
last key and arguments; the caller then raises :func:`throttled` (the lobby's poll does).
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from litestar import Request

from meet_core.http.errors import ApiError
from meet_core.http.raw import header
from meet_core.pipelined_valkey import Script
from meet_core.state import pipelined_valkey

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

_THROTTLE = Script.of(
    THROTTLE_LUA
    + """
local wait = over_limit(KEYS[1], ARGV[1], ARGV[2])
if wait then return wait end
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
    """The caller's address, from ``X-Forwarded-For`` when a proxy set it."""
    forwarded = header(request, b"x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


async def throttle(request: Request[Any, Any, Any], scope: str, key: str, rate: str) -> None:
    """Count one hit of ``key`` in ``scope``; 429 when over ``rate``."""
    await count_hit(request, Throttle(scope, key, rate))


async def count_hit(request: Request[Any, Any, Any], hit: Throttle) -> None:
    """Count ``hit`` (one round trip); 429 when its window is over the rate."""
    wait = int(await pipelined_valkey(request).run_script(_THROTTLE, [hit.key], [hit.period, hit.limit]))
    if wait:
        raise throttled(wait)
