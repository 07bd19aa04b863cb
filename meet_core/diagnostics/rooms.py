"""Names of connection-test rooms, and their removal from LiveKit once their tokens expired.

Each ``POST /diagnostics/connection/`` hands out a token for a fresh room
``<CONNECTION_TEST_ROOM_PREFIX>-<uuid4>``; LiveKit creates the room when the browser joins. The
old system deleted it with a delayed Celery task (only with ``CELERY_ENABLED``); here
``meet diagnostics clean`` (run it from cron) lists LiveKit's rooms and deletes the
connection-test ones older than the token TTL plus ``CONNECTION_TEST_ROOM_EXTRA_AGE_SECONDS``.
Nothing is kept on our side: LiveKit's room list is the state.
"""

from __future__ import annotations

import time
import uuid

from livekit import api

from meet_core.settings.core import CoreSettings


def new_room_name(core: CoreSettings) -> str:
    """A fresh connection-test room: ``connection-test-<uuid4>``."""
    return f"{core.connection_test_room_prefix}-{uuid.uuid4()}"


def is_test_room(core: CoreSettings, name: str) -> bool:
    """Whether ``name`` is a connection-test room (never true of a room UUID or a slug without it)."""
    return name.startswith(f"{core.connection_test_room_prefix}-")


async def clean_test_rooms(core: CoreSettings, client: api.LiveKitAPI, now: float | None = None) -> list[str]:
    """Delete the connection-test rooms older than their token's TTL (plus the extra age).

    Returns the names deleted. A room LiveKit already removed (not found) counts as done.
    """
    now = time.time() if now is None else now
    max_age = core.connection_test_token_ttl_seconds + core.connection_test_room_extra_age_seconds
    listed = await client.room.list_rooms(api.ListRoomsRequest())
    deleted: list[str] = []
    for room in listed.rooms:
        if not is_test_room(core, room.name) or now - room.creation_time < max_age:
            continue
        try:
            await client.room.delete_room(api.DeleteRoomRequest(room=room.name))
        except api.TwirpError as exc:
            if exc.code != "not_found":
                raise
        deleted.append(room.name)
    return deleted
