"""Dockerflow endpoints: ``/__heartbeat__`` (database, Valkey, LiveKit), ``/__lbheartbeat__``,
``/__version__``.

``/__heartbeat__`` answers 503 when any of the three is down, naming it: rooms cannot be
created or joined without the database and Valkey, and meetings cannot be moderated (nor
recorded, nor lobbies announced) without LiveKit's API. Load balancers should probe
``/__lbheartbeat__`` instead, which only says that the process serves (docs/operations.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from livekit.protocol.room import ListRoomsRequest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core import __version__
from meet_core.state import core_settings, livekit_api, valkey_client

#: A room name no meeting has: listing it is LiveKit's cheapest authenticated call.
_PROBE = ListRoomsRequest(names=["__heartbeat__"])


async def _check(coro: Any, seconds: float = 3) -> str:
    try:
        await asyncio.wait_for(coro, timeout=seconds)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@get("/__heartbeat__", include_in_schema=False)
async def heartbeat(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Response[dict[str, Any]]:
    """200 when the database, Valkey and LiveKit answer, else 503 naming the part that failed.

    LiveKit is asked to list one room that does not exist (a Twirp call with the app's keys,
    so wrong keys show too), with a shorter timeout than the client's own.
    """
    checks = {
        "database": await _check(db_session.execute(text("SELECT 1"))),
        "valkey": await _check(valkey_client(request).ping()),
        "livekit": await _check(livekit_api(request).room.list_rooms(_PROBE), 2),
    }
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "error", "checks": checks},
        status_code=200 if ok else 503,
        media_type=MediaType.JSON,
    )


@get("/__lbheartbeat__", include_in_schema=False)
async def lbheartbeat() -> Response[str]:
    """200 as long as the process serves requests (for load balancers)."""
    return Response("", status_code=200, media_type=MediaType.TEXT)


@get("/__version__", include_in_schema=False)
async def version(request: Request[Any, Any, Any]) -> dict[str, str]:
    core = core_settings(request)
    return {
        "source": "https://github.com/suitenumerique/meet",
        "version": __version__,
        "commit": core.commit,
        "build": core.version,
    }


ROUTES = [heartbeat, lbheartbeat, version]
