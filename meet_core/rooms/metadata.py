"""Mirroring a room's settings into its live LiveKit room's metadata (spec/api.md §2.3, §4).

The frontend of participants already in the meeting reads ``access_level`` and
``configuration`` from the LiveKit room metadata. The update is best-effort: the database
change is what counts, so a room that is not live or a LiveKit that is down only logs.
The existing metadata (``recording_status``...) is fetched first and merged, never replaced.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from litestar import Request
from livekit.api import ListRoomsRequest, UpdateRoomMetadataRequest

from meet_core.rooms.models import Room
from meet_core.state import livekit_api

log = logging.getLogger("meet_core.rooms")

#: Upper bound for the whole best-effort exchange, so a slow LiveKit cannot hold the request.
MIRROR_TIMEOUT = 5.0


def merged_metadata(current: str, room: Room) -> str:
    """``current`` (JSON object text; anything else counts as empty) with the room's settings."""
    try:
        existing = json.loads(current) if current else {}
    except ValueError:
        existing = {}
    if not isinstance(existing, dict):
        existing = {}
    existing.update({"configuration": room.configuration or {}, "access_level": room.access_level})
    return json.dumps(existing)


async def _mirror(request: Request[Any, Any, Any], room: Room) -> None:
    client = livekit_api(request)
    name = str(room.id)
    listing = await client.room.list_rooms(ListRoomsRequest(names=[name]))
    live = next((item for item in listing.rooms if item.name == name), None)
    if live is None:
        log.info("LiveKit room %s is not live, metadata not synced", name)
        return
    await client.room.update_room_metadata(
        UpdateRoomMetadataRequest(room=name, metadata=merged_metadata(live.metadata, room))
    )


async def mirror_room_settings(request: Request[Any, Any, Any], room: Room) -> bool:
    """Push ``{"configuration", "access_level"}`` to the live room; False when it could not."""
    try:
        await asyncio.wait_for(_mirror(request, room), MIRROR_TIMEOUT)
    except Exception as exc:  # best-effort by contract: any LiveKit failure is only logged
        log.warning("could not sync LiveKit metadata of room %s: %r", room.id, exc)
        return False
    return True
