"""A short-lived, per-worker cache of the rooms anonymous lobby participants poll.

Every waiting participant polls request-entry every second; without this cache each poll
costs a database round trip (several thread hops with SQLite) for a row that almost never
changes. Entries live ``LOBBY_ROOM_CACHE_TTL`` seconds (0 turns the cache off), so an access
level change reaches every worker within that delay. Authenticated callers always read the
database (their role is needed anyway).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.rooms.lookup import get_room_or_404
from meet_core.rooms.models import Room


class RoomInfo(msgspec.Struct, frozen=True):
    """What the lobby needs of a room."""

    id: str
    access_level: str
    configuration: dict[str, Any]

    @classmethod
    def of(cls, room: Room) -> RoomInfo:
        return cls(
            id=str(room.id), access_level=room.access_level, configuration=dict(room.configuration or {})
        )


class RoomCache:
    """Room key (UUID or slug, as in the URL) -> :class:`RoomInfo`, for ``ttl`` seconds."""

    def __init__(self, ttl: float, max_size: int = 10_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._entries: dict[str, tuple[float, RoomInfo]] = {}

    async def get(self, db_session: AsyncSession, room_key: str) -> RoomInfo:
        """The room of ``room_key`` (404 when unknown; unknown keys are never cached)."""
        if self.ttl <= 0:
            return RoomInfo.of(await get_room_or_404(db_session, room_key))
        now = time.monotonic()
        cached = self._entries.get(room_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        info = RoomInfo.of(await get_room_or_404(db_session, room_key))
        if len(self._entries) >= self.max_size:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_size:
                self._entries.clear()
        self._entries[room_key] = (now + self.ttl, info)
        return info
