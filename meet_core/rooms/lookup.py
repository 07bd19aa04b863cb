"""Finding a room from the ``{id}`` of a URL, and a user's role in it (spec/api.md §2.3).

The key is a UUID (dashless accepted) looked up by id, or anything else looked up by its
slug (``/rooms/Réunion/`` finds ``reunion``). A key whose *slug* reads as a UUID (``<id>!``,
``<ID>``, `` <id>``, full-width digits...) is that UUID too: no room may have such a slug
(``checked_slug`` refuses them), so looking it up by slug would always miss, and the
unregistered-room fallback would then hand out a token for the LiveKit room named after
the registered room's id: a lobby bypass (:func:`resolve_room_key`). Public: plugins use it
for their room routes.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from meet_core.http.errors import DEFAULT_DETAILS, not_found, permission_denied
from meet_core.rooms.models import PRIVILEGED_ROLES, ROLE_RANK, ResourceAccess, Room
from meet_core.rooms.slugs import slugify
from meet_core.users.models import User

#: The 404 detail of an unknown room key, as the old system words it.
ROOM_NOT_FOUND = "No Room matches the given query."


def parse_uuid(key: str) -> uuid.UUID | None:
    """``key`` as a UUID (dashless accepted), None when it is not one."""
    try:
        return uuid.UUID(key)
    except (ValueError, AttributeError):
        return None


def resolve_room_key(key: str) -> uuid.UUID | str:
    """What a URL key names: a room id (a UUID, or a key whose slug reads as one), else a slug.

    Only a slug may name an unregistered room; an id names a registered room or nothing.
    """
    room_id = parse_uuid(key)
    if room_id is not None:
        return room_id
    slug = slugify(key)
    room_id = parse_uuid(slug)
    return slug if room_id is None else room_id


def room_key_filter(key: str) -> ColumnElement[bool]:
    """The WHERE clause of a URL key: the room's id or its slug (:func:`resolve_room_key`)."""
    resolved = resolve_room_key(key)
    return Room.slug == resolved if isinstance(resolved, str) else Room.id == resolved


def access_of(user_id: uuid.UUID | QueryableAttribute[uuid.UUID]) -> ColumnElement[bool]:
    """The join clause of a user's access to :class:`Room` (one per user and room)."""
    return and_(ResourceAccess.resource_id == Room.id, ResourceAccess.user_id == user_id)


def require_privileged(role: str | None, message: str = DEFAULT_DETAILS[403]) -> None:
    """The one privilege check: administrators and owners pass, anyone else gets 403 ``message``."""
    if role not in PRIVILEGED_ROLES:
        raise permission_denied(message)


async def find_room(db_session: AsyncSession, key: str) -> Room | None:
    """The room whose id or slug matches the URL key (:func:`resolve_room_key`), or None."""
    return await db_session.scalar(select(Room).where(room_key_filter(key)))


async def get_room_or_404(db_session: AsyncSession, key: str) -> Room:
    """The room, else 404 ``{"detail": "No Room matches the given query."}``."""
    room = await find_room(db_session, key)
    if room is None:
        raise not_found(ROOM_NOT_FOUND)
    return room


async def get_room_and_role_or_404(
    db_session: AsyncSession, key: str, user: User | None
) -> tuple[Room, str | None]:
    """The room (else 404, as :func:`get_room_or_404`) and ``user``'s role in it, in one query.

    An outer join on the caller's access (one per user and room): the room-scoped routes
    that check privileges make one round trip instead of two.
    """
    if user is None:
        return await get_room_or_404(db_session, key), None
    query = (
        select(Room, ResourceAccess.role)
        .outerjoin(ResourceAccess, access_of(user.id))
        .where(room_key_filter(key))
    )
    row = (await db_session.execute(query)).first()
    if row is None:
        raise not_found(ROOM_NOT_FOUND)
    return row[0], row[1]


async def get_role(db_session: AsyncSession, room: Room, user: User | None) -> str | None:
    """The user's highest role in the room (owner > administrator > member), None if anonymous or none."""
    if user is None:
        return None
    roles = (
        await db_session.scalars(
            select(ResourceAccess.role).where(
                ResourceAccess.resource_id == room.id, ResourceAccess.user_id == user.id
            )
        )
    ).all()
    return max(roles, key=lambda r: ROLE_RANK.get(r, 0), default=None)
