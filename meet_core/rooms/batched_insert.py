"""Room creations on PostgreSQL (asyncpg), several requests' rooms in one statement.

The fast path of ``POST /rooms/`` inserts a room and its owner's access, guarded by the
owner's row (active). Under load, the statement around those two rows costs more than the
rows (a round trip, PostgreSQL's execution and commit, the wake-ups on both sides), so
the creations that arrive together share one (:class:`meet_core.db.batching.Batcher`):
arrays of values, unnested. Each creation still gets its own outcome, exactly as if it
had run alone:

- created: the owner's row, as the statement read it;
- :data:`TAKEN_SLUG`: another room has the slug (``ON CONFLICT DO NOTHING``: a refused row
  does not abort its neighbours);
- None: the owner is gone or inactive (no row was written).

A batch that fails as a whole (a foreign key, when a user is deleted while their room is
inserted) is run again one creation at a time by the batcher, each then failing or not on
its own; the caller reads asyncpg's errors as for any statement.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import DateTime, Text, Uuid, bindparam, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from meet_core.db.batching import Batcher
from meet_core.db.driver import DriverStatement
from meet_core.rooms.models import ResourceAccess, Role, Room
from meet_core.users.models import USER_COLUMNS, USER_FIELDS, User


@dataclass(frozen=True, slots=True)
class NewRoom:
    """One creation: the room's columns, its owner's access id, the owner, the time."""

    room_id: uuid.UUID
    name: str
    slug: str | None
    access_level: str
    configuration: Mapping[str, Any]
    access_id: uuid.UUID
    user_id: uuid.UUID
    now: datetime


class _TakenSlug:
    def __repr__(self) -> str:
        return "TAKEN_SLUG"


TAKEN_SLUG: Final = _TakenSlug()
#: What a creation gives: the owner's row, TAKEN_SLUG, or None (owner gone or inactive).
Outcome = dict[str, Any] | _TakenSlug | None

_USER_LIST = ", ".join(
    f'owner."{source.name}" AS "{name}"' for name, source in zip(USER_FIELDS, USER_COLUMNS, strict=True)
)
_SQL = f"""
WITH new (room_id, name, slug, access_level, configuration, access_id, user_id, now) AS (
    SELECT * FROM unnest(
        :room_ids, :names, :slugs, :access_levels, CAST(:configurations AS JSONB[]), :access_ids,
        :user_ids, :nows
    )
),
owner AS (
    SELECT * FROM {User.__tablename__} WHERE id IN (SELECT user_id FROM new) AND is_active
),
new_room AS (
    INSERT INTO {Room.__tablename__} (id, name, slug, access_level, configuration, created_at, updated_at)
    SELECT new.room_id, new.name, new.slug, new.access_level, new.configuration, new.now, new.now
    FROM new JOIN owner ON owner.id = new.user_id
    ON CONFLICT DO NOTHING
    RETURNING id
),
new_access AS (
    INSERT INTO {ResourceAccess.__tablename__} (id, resource_id, user_id, role, created_at, updated_at)
    SELECT new.access_id, new.room_id, new.user_id, '{Role.OWNER.value}', new.now, new.now
    FROM new JOIN new_room ON new_room.id = new.room_id
    RETURNING resource_id
)
SELECT new.room_id AS batch_room_id, new_access.resource_id IS NOT NULL AS batch_created,
       owner.id IS NOT NULL AS batch_owner_active, {_USER_LIST}
FROM new
LEFT JOIN owner ON owner.id = new.user_id
LEFT JOIN new_access ON new_access.resource_id = new.room_id
"""
_STATEMENT = (
    text(_SQL)
    .bindparams(
        bindparam("room_ids", type_=ARRAY(Uuid())),
        bindparam("names", type_=ARRAY(Text())),
        bindparam("slugs", type_=ARRAY(Text())),
        bindparam("access_levels", type_=ARRAY(Text())),
        bindparam("configurations", type_=ARRAY(Text())),  # JSON text, cast by the statement
        bindparam("access_ids", type_=ARRAY(Uuid())),
        bindparam("user_ids", type_=ARRAY(Uuid())),
        bindparam("nows", type_=ARRAY(DateTime(timezone=True))),
    )
    .columns(
        column("batch_room_id", Uuid()),
        column("batch_created"),
        column("batch_owner_active"),
        *(column(name, source.type) for name, source in zip(USER_FIELDS, USER_COLUMNS, strict=True)),
    )
)
_CREATE = DriverStatement(_STATEMENT, postgresql_asyncpg.dialect())


def room_insertions(engine: AsyncEngine) -> Batcher[NewRoom, Outcome]:
    """The batcher of an application's creations (one per worker, made by ``create_app``)."""

    async def run(rooms: Sequence[NewRoom]) -> list[Outcome]:
        params = {
            "room_ids": [room.room_id for room in rooms],
            "names": [room.name for room in rooms],
            "slugs": [room.slug for room in rooms],
            "access_levels": [room.access_level for room in rooms],
            "configurations": [json.dumps(room.configuration) for room in rooms],
            "access_ids": [room.access_id for room in rooms],
            "user_ids": [room.user_id for room in rooms],
            "nows": [room.now for room in rooms],
        }
        rows = {row["batch_room_id"]: row for row in await _CREATE.all(engine, params)}
        return [_outcome(rows[room.room_id]) for room in rooms]

    return Batcher(run)


def _outcome(row: Mapping[str, Any]) -> Outcome:
    if row["batch_created"]:
        return {name: row[name] for name in USER_FIELDS}
    return TAKEN_SLUG if row["batch_owner_active"] else None
