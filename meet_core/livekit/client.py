"""The application's one ``LiveKitAPI`` client, opened in the lifespan and closed on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import aiohttp
from livekit import api

from meet_core.settings.core import CoreSettings

if TYPE_CHECKING:
    from meet_core.metrics import Metrics

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)


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
    try:
        yield client
    finally:
        await client.aclose()
        if session is not None:
            await session.close()
