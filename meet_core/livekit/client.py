"""The application's one ``LiveKitAPI`` client, opened in the lifespan and closed on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from livekit import api

from meet_core.settings.core import CoreSettings


@asynccontextmanager
async def open_livekit(core: CoreSettings) -> AsyncIterator[api.LiveKitAPI]:
    """Open the client; with ``LIVEKIT_VERIFY_SSL=false`` we own its aiohttp session and close it."""
    session: aiohttp.ClientSession | None = None
    if not core.livekit_verify_ssl:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
    client = api.LiveKitAPI(
        url=core.livekit_api_url,
        api_key=core.livekit_api_key,
        api_secret=core.livekit_api_secret,
        session=session,
        timeout=aiohttp.ClientTimeout(total=10, connect=3),
    )
    try:
        yield client
    finally:
        await client.aclose()
        if session is not None:
            await session.close()
