"""A LiveKit that fails or hangs: the heartbeat names it, handlers answer 502, never 500.

The core's own LiveKit calls catch their errors (spec ``{"error": ...}`` bodies); a plugin's
call that does not is answered by the central handlers (``meet_core.http.errors``): a LiveKit
5xx or a timeout raised by its client is a 502 ``{"detail": ...}``; a 4xx stays a 500 (a bug).
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from litestar import Request, get
from livekit import api

from meet_core.api import Settings, hookimpl
from meet_core.livekit.client import enforce_timeout
from meet_core.state import core_settings, livekit_api

LIVEKIT_DOWN = {"detail": "LiveKit is unavailable, please retry later."}


class RoomLister:
    """A plugin listing LiveKit rooms without catching anything, with the app's client or a
    client of its own with a short timeout."""

    name = "room_lister"

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> list[Any]:
        @get("/api/v1.0/room-lister/shared")
        async def shared(request: Request[Any, Any, Any]) -> dict[str, int]:
            rooms = await livekit_api(request).room.list_rooms(api.ListRoomsRequest())
            return {"rooms": len(rooms.rooms)}

        @get("/api/v1.0/room-lister/impatient")
        async def impatient(request: Request[Any, Any, Any]) -> dict[str, int]:
            core = core_settings(request)
            timeout = aiohttp.ClientTimeout(total=0.5)
            async with api.LiveKitAPI(
                core.livekit_api_url, core.livekit_api_key, core.livekit_api_secret, timeout=timeout
            ) as client:
                enforce_timeout(client, timeout)  # the SDK's calls ignore the session's timeout
                rooms = await client.room.list_rooms(api.ListRoomsRequest())
            return {"rooms": len(rooms.rooms)}

        return [shared, impatient]


async def test_a_livekit_5xx_is_a_502_and_a_4xx_a_500(meet_app, livekit) -> None:
    meet = await meet_app(plugins=[RoomLister])
    assert (await meet.client.get("/api/v1.0/room-lister/shared")).json() == {"rooms": 0}
    livekit.fail("ListRooms", code="unavailable")
    response = await meet.client.get("/api/v1.0/room-lister/shared")
    assert (response.status_code, response.json()) == (502, LIVEKIT_DOWN)
    livekit.fail("ListRooms", code="invalid_argument")
    response = await meet.client.get("/api/v1.0/room-lister/shared")
    assert (response.status_code, response.json()) == (500, {"detail": "Internal server error."})


async def test_a_livekit_that_hangs_is_a_502_and_named_by_the_heartbeat(meet_app, livekit) -> None:
    meet = await meet_app(plugins=[RoomLister])
    livekit.set_delay(30)
    response = await meet.client.get("/api/v1.0/room-lister/impatient")
    assert (response.status_code, response.json()) == (502, LIVEKIT_DOWN)
    started = time.monotonic()
    response = await meet.client.get("/__heartbeat__")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "valkey": "ok", "livekit": "error: TimeoutError"}
    assert time.monotonic() - started < 10  # its own short timeout, not the client's
    livekit.set_delay(0)
    assert (await meet.client.get("/api/v1.0/room-lister/impatient")).json() == {"rooms": 0}
