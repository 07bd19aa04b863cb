"""Room PINs in the database; every function takes the session it works in.

A PIN is ``secrets.randbelow(10**length)`` zero-padded to ``length`` digits (services.md §4.1).
Uniqueness is the table's: each draw is inserted in a savepoint, and a draw that collides
with another room's PIN (even one inserted by a concurrent, still uncommitted transaction on
PostgreSQL) is rolled back alone and drawn again, up to ``max_retries`` times. The request's
own transaction (a room being created) is never lost to a collision.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import Room
from meet_telephony.models import RoomPin

log = logging.getLogger("meet_telephony")


def draw_pin(length: int) -> str:
    """A PIN of exactly ``length`` digits, from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**length):0{length}d}"


async def room_pin(session: AsyncSession, room_id: uuid.UUID) -> str | None:
    pin: str | None = await session.scalar(select(RoomPin.pin).where(RoomPin.room_id == room_id))
    return pin


async def room_exists(session: AsyncSession, room_id: uuid.UUID) -> bool:
    return await session.scalar(select(Room.id).where(Room.id == room_id)) is not None


async def room_for_pin(session: AsyncSession, pin: str) -> uuid.UUID | None:
    room_id: uuid.UUID | None = await session.scalar(select(RoomPin.room_id).where(RoomPin.pin == pin))
    return room_id


async def ensure_pin(session: AsyncSession, room_id: uuid.UUID, length: int, max_retries: int) -> str | None:
    """The room's PIN, drawn now if it has none; None when every draw collided (logged).

    The room must exist in ``session`` (flushed). A PIN is never replaced.
    """
    existing = await room_pin(session, room_id)
    if existing is not None:
        return existing
    for _ in range(max_retries):
        pin = draw_pin(length)
        try:
            async with session.begin_nested():
                session.add(RoomPin(room_id=room_id, pin=pin))
        except IntegrityError:
            # Either the PIN is taken, or a concurrent request just gave this room its PIN.
            existing = await room_pin(session, room_id)
            if existing is not None:
                return existing
            continue
        return pin
    log.warning("no free PIN found for room %s after %d draws: it has none for now", room_id, max_retries)
    return None


async def rooms_without_pin(session: AsyncSession) -> Sequence[uuid.UUID]:
    """The rooms that have no PIN yet, oldest first."""
    query = (
        select(Room.id)
        .outerjoin(RoomPin, RoomPin.room_id == Room.id)
        .where(RoomPin.id.is_(None))
        .order_by(Room.created_at, Room.id)
    )
    return (await session.scalars(query)).all()
