"""Rate limits kept in Valkey so they hold across workers and hosts (spec/api.md §0.7).

A fixed window per (scope, key): one ``INCR`` and, on the first hit, an ``EXPIRE`` in one
pipeline round trip. Over the limit: 429 ``{"detail": "Request was throttled. Expected
available in N seconds."}`` with ``Retry-After: N``.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request

from meet_core.http.errors import ApiError
from meet_core.state import valkey_client

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


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address, from ``X-Forwarded-For`` when a proxy set it."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


async def throttle(request: Request[Any, Any, Any], scope: str, key: str, rate: str) -> None:
    """Count one hit of ``key`` in ``scope``; 429 when over ``rate``."""
    limit, period = parse_rate(rate)
    name = f"throttle:{scope}:{key}"
    pipe = valkey_client(request).pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, period, nx=True)
    pipe.ttl(name)
    count, _, ttl = await pipe.execute()
    if int(count) > limit:
        wait = max(int(ttl), 1)
        unit = "second" if wait == 1 else "seconds"
        message = f"Request was throttled. Expected available in {wait} {unit}."
        raise ApiError(429, {"detail": message}, {"Retry-After": str(wait)})
