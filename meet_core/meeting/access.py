"""Who may act on a live meeting: room administrators by session, participants by LiveKit token.

A LiveKit token only proves membership of its ``video.room`` (the room's UUID): it never
grants admin powers, whatever the holder's role.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from litestar import Request
from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.db.request_session import read_first
from meet_core.http.errors import ApiError, not_authenticated, not_found, permission_denied
from meet_core.identity.livekit_auth import LiveKitCaller, livekit_caller
from meet_core.identity.sessions import SAFE_METHODS, check_csrf, session_user_id
from meet_core.rooms.lookup import (
    ROOM_NOT_FOUND,
    access_of,
    get_room_and_role_or_404,
    get_room_or_404,
    require_privileged,
    room_key_filter,
)
from meet_core.rooms.models import ResourceAccess, Room
from meet_core.rooms.service import ROOM_COLUMNS, room_from_row
from meet_core.state import room_cache
from meet_core.users.models import User

PRIVILEGES_REQUIRED = "You must have privileges on room to perform this action."


def livekit_room_name(room: Room) -> str:
    """The LiveKit name of a registered room: its UUID, lowercase and hyphenated."""
    return str(room.id)


async def privileged_room(db_session: AsyncSession, room_key: str, user: User) -> Room:
    """The room (404 if unknown) when ``user`` administers or owns it, else 403."""
    room, role = await get_room_and_role_or_404(db_session, room_key, user)
    require_privileged(role, PRIVILEGES_REQUIRED)
    return room


async def read_privileged_room(request: Request[Any, Any, Any], room_key: str) -> Room:
    """:func:`privileged_room` of the session's user, for routes that only read the database.

    An administrator's page polls some of them every second (the lobby's waiting list). The
    ``current_user`` dependency and :func:`privileged_room` take four database round trips
    (BEGIN, the user, the room and role, COMMIT); here the user, the room and the user's role
    in it come from one statement, outside any transaction, and a success is kept in the
    worker's room cache (``ROOM_CACHE_TTL``, refreshed in the background like a room): a demoted
    or deactivated administrator keeps reading for at most that long on the other workers.
    Same answers: 401 without an active user, 404 for an unknown room, 403 without privileges
    (and the CSRF check of unsafe methods). The room is a transient instance: read it, never
    change it.
    """
    found = await session_user_id(request)
    if found is None:
        raise not_authenticated()
    user_id, session = found
    cache, key = room_cache(request), (user_id, room_key)
    reload = functools.partial(_privileged_room_or_none, request, user_id, room_key)
    room = cache.get(key, reload) if cache is not None else None
    row = None
    if room is None:
        row = await _user_room_and_role(request, user_id, room_key)
        if row is None or not row["is_active"]:
            raise not_authenticated()
    if request.method not in SAFE_METHODS:
        check_csrf(request, session)
    if room is not None:
        return room
    assert row is not None
    room = _privileged_room_of(row)
    if cache is not None:
        cache.put(key, room)
    return room


def _privileged_room_of(row: RowMapping) -> Room:
    """The room of a :func:`_user_room_and_role` row: 404 without a room, 403 without privileges."""
    if row["id"] is None:
        raise not_found(ROOM_NOT_FOUND)
    require_privileged(row["role"], PRIVILEGES_REQUIRED)
    return room_from_row(row)


async def _user_room_and_role(
    request: Request[Any, Any, Any], user_id: uuid.UUID, room_key: str
) -> RowMapping | None:
    """One row: the user's ``is_active``, the room's columns (null if none) and the role."""
    query = (
        select(User.is_active, ResourceAccess.role, *ROOM_COLUMNS)
        .select_from(User)
        .outerjoin(Room, room_key_filter(room_key))
        .outerjoin(ResourceAccess, access_of(User.id))
        .where(User.id == user_id)
    )
    return await read_first(request, None, query)


async def _privileged_room_or_none(
    request: Request[Any, Any, Any], user_id: uuid.UUID, room_key: str
) -> Room | None:
    """The room when the user is active and administers it, else None (a cached check, again)."""
    row = await _user_room_and_role(request, user_id, room_key)
    if row is None or not row["is_active"]:
        return None
    try:
        return _privileged_room_of(row)
    except ApiError:
        return None


async def participant_room(
    request: Request[Any, Any, Any], db_session: AsyncSession, room_key: str
) -> tuple[Room, LiveKitCaller]:
    """The room and the caller whose LiveKit token (403 if missing or bad) is for that room (else 403)."""
    caller = await livekit_caller(request)
    room = await get_room_or_404(db_session, room_key)
    if caller.room != livekit_room_name(room):
        raise permission_denied()
    return room, caller
