"""Who may act on a live meeting: room administrators by session, participants by LiveKit token.

A LiveKit token only proves membership of its ``video.room`` (the room's UUID): it never
grants admin powers, whatever the holder's role.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http.errors import permission_denied
from meet_core.identity.livekit_auth import LiveKitCaller, livekit_caller
from meet_core.rooms.lookup import get_room_and_role_or_404, get_room_or_404
from meet_core.rooms.models import PRIVILEGED_ROLES, Room
from meet_core.users.models import User

PRIVILEGES_REQUIRED = "You must have privileges on room to perform this action."


def livekit_room_name(room: Room) -> str:
    """The LiveKit name of a registered room: its UUID, lowercase and hyphenated."""
    return str(room.id)


async def privileged_room(db_session: AsyncSession, room_key: str, user: User) -> Room:
    """The room (404 if unknown) when ``user`` administers or owns it, else 403."""
    room, role = await get_room_and_role_or_404(db_session, room_key, user)
    if role not in PRIVILEGED_ROLES:
        raise permission_denied(PRIVILEGES_REQUIRED)
    return room


async def participant_room(
    request: Request[Any, Any, Any], db_session: AsyncSession, room_key: str
) -> tuple[Room, LiveKitCaller]:
    """The room and the caller whose LiveKit token (403 if missing or bad) is for that room (else 403)."""
    caller = await livekit_caller(request)
    room = await get_room_or_404(db_session, room_key)
    if caller.room != livekit_room_name(room):
        raise permission_denied()
    return room, caller
