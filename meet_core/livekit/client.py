"""The application's one ``LiveKitAPI`` client, opened in the lifespan and closed on shutdown.

Its calls time out after :data:`TIMEOUT`: the SDK's services pass ``timeout=None`` to aiohttp
for every call, which aiohttp reads as "no timeout" (the session's own timeout is ignored),
so a LiveKit that accepts connections but never answers would hold requests forever.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp
from livekit import api

from meet_core.settings.core import CoreSettings

if TYPE_CHECKING:
    from meet_core.metrics import Metrics

#: Of each LiveKit API call: connecting, then the whole call (one attempt: no failover for a
#: self-hosted server). Failures are 502s (meet_core.http.errors).
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)


def _with_timeout(request: Callable[..., Awaitable[Any]], timeout: aiohttp.ClientTimeout) -> Any:
    @functools.wraps(request)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = timeout
        return await request(*args, **kwargs)

    return timed


def enforce_timeout(client: api.LiveKitAPI, timeout: aiohttp.ClientTimeout = TIMEOUT) -> api.LiveKitAPI:
    """Give every call of ``client``'s services ``timeout`` unless the call sets its own."""
    for service in (client.room, client.egress, client.sip, client.agent_dispatch, client.ingress):
        twirp = service._client
        twirp.request = _with_timeout(twirp.request, timeout)  # type: ignore[method-assign]
    return client


@asynccontextmanager
async def open_livekit(core: CoreSettings, metrics: Metrics | None = None) -> AsyncIterator[api.LiveKitAPI]:
    """Open the client; we own its aiohttp session (and close it) when ``LIVEKIT_VERIFY_SSL=false``
    or when ``metrics`` count its calls (a trace on the session sees every service's calls)."""
    session: aiohttp.ClientSession | None = None
    if not core.livekit_verify_ssl or metrics is not None:
        from meet_core.metrics import livekit_trace

        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=core.livekit_verify_ssl),
            timeout=TIMEOUT,
            trace_configs=[livekit_trace(metrics)] if metrics is not None else None,
        )
    client = api.LiveKitAPI(
        url=core.livekit_api_url,
        api_key=core.livekit_api_key,
        api_secret=core.livekit_api_secret,
        session=session,
        timeout=TIMEOUT,
    )
    enforce_timeout(client)
    try:
        yield client
    finally:
        await client.aclose()
        if session is not None:
            await session.close()
