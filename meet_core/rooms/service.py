"""The rules of rooms (spec/api.md §2.3, §3.3): slugs, defaults, who may change what.

Controllers stay thin: they read the body, call these functions and serialize. Errors are
raised (never returned) so that the request's transaction is rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import msgspec
from litestar import Request
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Row,
    RowMapping,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.db import built_as_loaded
from meet_core.db.request_session import read_all, read_first
from meet_core.generations import bump, room_view_cache, user_cache
from meet_core.http.errors import FieldErrors, permission_denied
from meet_core.identity.sessions import request_stamps
from meet_core.rooms import creation_callback, metadata
from meet_core.rooms.batched_insert import TAKEN_SLUG, NewRoom
from meet_core.rooms.lookup import parse_uuid, room_key_filter
from meet_core.rooms.models import PRIVILEGED_ROLES, ResourceAccess, Role, Room
from meet_core.rooms.schemas import SLUG_MAX_LENGTH, RoomInput
from meet_core.rooms.serializers import AccessLike, AccessView, room_rows_payload
from meet_core.rooms.slugs import slugify
from meet_core.state import core_settings, hooks, pipelined_valkey, room_cache, room_insertions
from meet_core.users.models import USER_COLUMNS, USER_FIELDS, User, detached_user
from meet_core.users.schemas import USER_JSON_FIELDS, UserLike

log = logging.getLogger(__name__)

SLUG_TAKEN = "Room with this Slug already exists."

#: Accesses with their users: ORM instances or rows, read alike by the serializers.
AccessRows = list[tuple[AccessLike, UserLike]]

#: The columns of a room, to build a transient ``Room`` from one row (``Room(**row)``).
ROOM_COLUMNS = [
    Room.__table__.c[name]
    for name in (
        "id",
        "name",
        "slug",
        "access_level",
        "configuration",
        "pin_code",
        "created_at",
        "updated_at",
    )
]


#: A room cache key: a URL key, or (user id, URL key) for a room that user administers.
CacheKey = str | tuple[uuid.UUID, str]


class RoomCache:
    """Rooms recently read by ``GET /rooms/{key}/`` in this worker, for ``ROOM_CACHE_TTL`` seconds.

    Hot rooms (everybody joining at the start of a meeting) then cost no query at all.
    Keyed by the URL key as sent (an id, a dashless id, a slug, a name that slugifies to
    one), so that a hit costs neither UUID parsing nor slugifying.
    Only found rooms are kept (an unknown key may be created any moment, and serving it as
    unregistered would split the meeting); this worker forgets a room as soon as it updates
    or deletes it or changes an access to it, other workers within the TTL and one refresh:
    past the TTL the room is still served while one background task reads it again
    (:func:`read_room`), so no request waits for the database (on a busy SQLite worker a
    query can take hundreds of ms). Keys are URL keys (text), or (user id, URL key) pairs for
    the rooms a user was found to administer (``meet_core.meeting.access.read_privileged_room``),
    which are forgotten with the room. One per application (``meet_core.state.room_cache``).
    """

    MAX_ENTRIES = 10_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._rooms: dict[CacheKey, tuple[float, Room]] = {}
        self._refreshing: set[asyncio.Task[None]] = set()  # references, or a task may be collected

    def get(self, key: CacheKey, reload: Callable[[], Awaitable[Room | None]]) -> Room | None:
        """The cached room, past the TTL too: then ``reload`` reads it again in the background.

        Only one caller per TTL starts a reload (the entry's deadline moves on at once); its
        room replaces the cached one, and None or an error drops the entry, so that no stale
        room outlives an outage (the next request reads through, and gets its 503).
        """
        entry = self._rooms.get(key)
        if entry is None:
            return None
        expires, room = entry
        now = time.monotonic()
        if expires < now:
            self._rooms[key] = (now + self.ttl, room)
            task = asyncio.ensure_future(self._reload(key, reload))
            self._refreshing.add(task)
            task.add_done_callback(self._refreshing.discard)
        return room

    async def _reload(self, key: CacheKey, reload: Callable[[], Awaitable[Room | None]]) -> None:
        try:
            room = await reload()
        except Exception as exc:
            self.discard(key)
            log.warning("cached room %r not refreshed, dropped: %r", key, exc)
            return
        if room is None:
            self.discard(key)
        else:
            self.put(key, room)

    def discard(self, key: CacheKey) -> None:
        self._rooms.pop(key, None)

    def put(self, key: CacheKey, room: Room) -> None:
        if len(self._rooms) >= self.MAX_ENTRIES:
            self._rooms.clear()
        self._rooms[key] = (time.monotonic() + self.ttl, room)

    def forget(self, room_id: uuid.UUID) -> None:
        for key in [key for key, (_, room) in self._rooms.items() if room.id == room_id]:
            self._rooms.pop(key, None)


async def read_room(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, key: str
) -> Room | None:
    """The room of a URL key, read for display only (the join path, spec/api.md §2.3).

    From the worker's :class:`RoomCache` (past its TTL too, while a background task reads it
    again), else one statement (``read_first``: on an autocommit connection when the request
    has no transaction yet, as for anonymous callers). The room is a transient instance,
    attached to no session and shared by the worker's requests while it is cached (building
    one costs more than the rest of the lookup): read it, never change it; use
    ``get_room_or_404`` for that.
    """
    cache = room_cache(request)
    if cache is not None:
        room = cache.get(key, lambda: _fetch_room(request, None, key))
        if room is not None:
            return room
    room = await _fetch_room(request, db_session, key)
    if cache is not None:
        if room is None:
            cache.discard(key)
        else:
            cache.put(key, room)
    return room


def room_from_row(row: RowMapping | Mapping[str, Any]) -> Room:
    """A transient ``Room`` from a row holding :data:`ROOM_COLUMNS` (and maybe more), for display.

    Built as SQLAlchemy's loading builds instances (an empty instance, then its ``__dict__``):
    ``Room(**columns)`` fires an attribute event per column, several times the cost (a page
    of the room list builds 20).
    """
    return built_as_loaded(Room, {column.key: row.get(column.key) for column in ROOM_COLUMNS})


async def _fetch_room(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, key: str
) -> Room | None:
    found = await read_first(request, db_session, select(*ROOM_COLUMNS).where(room_key_filter(key)))
    return room_from_row(found) if found is not None else None


def cached_room(request: Request[Any, Any, Any], key: str) -> Room | None:
    """The room of a URL key if this worker's :class:`RoomCache` has it (no database read)."""
    cache = room_cache(request)
    return cache.get(key, lambda: _fetch_room(request, None, key)) if cache is not None else None


async def cached_user_role_and_accesses(
    request: Request[Any, Any, Any],
    key: str,
    cached: Room,
    user_id: uuid.UUID,
    stamps: tuple[bytes | None, bytes | None],
) -> tuple[Room, User | None, str | None, dict[str, Any]] | None:
    """The room of ``key``, the active user of ``user_id``, their role and the room's rows
    payload (:func:`room_rows_payload`: with the accesses when the role is privileged), or None.

    ``cached`` is the worker's room for ``key`` (which names its id); ``stamps`` the room's and
    the user's generation stamps, read with the session *before* this function reads anything.
    While they are unchanged the worker's cached view is served (no database read); else the
    room is read again by its key (None: gone, forgotten by this worker) and the user, role
    and accesses with it (:func:`user_role_and_accesses`), then cached under those stamps:
    a change committed meanwhile bumped them, so the next request reads again.
    """
    views = room_view_cache(request)
    assert views is not None
    hit = views.get((cached.id, user_id), stamps)
    if hit is not None:
        room, fields, role, rows_payload = hit
        return room, detached_user(fields) if fields else None, role, rows_payload
    room = await _fetch_room(request, None, key)
    cache = room_cache(request)
    if room is None:
        forget_room(request, cached)
        return None
    if cache is not None:
        cache.put(key, room)
    user, role, accesses = await user_role_and_accesses(request, None, room, user_id)
    rows_payload = room_rows_payload(room, role, accesses)
    if room.id == cached.id:  # the stamp read is this room's
        fields = {name: getattr(user, name) for name in USER_FIELDS} if user is not None else {}
        views.put((room.id, user_id), stamps, (room, fields, role, rows_payload))
    return room, user, role, rows_payload


def forget_room(request: Request[Any, Any, Any], room: Room | uuid.UUID) -> None:
    """Drop a changed or deleted room (or one whose accesses changed) from this worker's cache."""
    cache = room_cache(request)
    if cache is not None:
        cache.forget(room.id if isinstance(room, Room) else room)


_ACCESS = ResourceAccess.__table__
_USER = User.__table__
#: An access with its user as one row: the access's columns labelled ``access_*``, the
#: user's under their own names (the row then reads as the user of ``user_json``).
_ACCESS_WITH_USER = [
    _ACCESS.c.id.label("access_id"),
    _ACCESS.c.user_id.label("access_user"),
    _ACCESS.c.resource_id.label("access_resource"),
    _ACCESS.c.role.label("access_role"),
    *(_USER.c[name] for name in USER_JSON_FIELDS),
]
_ACCESSES_OF_ROOMS = (
    select(*_ACCESS_WITH_USER)
    .join_from(_ACCESS, _USER, _USER.c.id == _ACCESS.c.user_id)
    .where(_ACCESS.c.resource_id.in_(bindparam("room_ids", expanding=True)))
    .order_by(_ACCESS.c.created_at.desc(), _ACCESS.c.id)
)
_COUNT_ROOMS = select(func.count(_ACCESS.c.id).label("count")).where(
    _ACCESS.c.user_id == bindparam("user_id")
)
_ROOMS_PAGE = (
    select(*ROOM_COLUMNS, _ACCESS.c.role.label("access_role"))
    .join_from(Room.__table__, _ACCESS, _ACCESS.c.resource_id == Room.__table__.c.id)
    .where(_ACCESS.c.user_id == bindparam("user_id"))
    .order_by(Room.__table__.c.name, Room.__table__.c.id)
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)


def _access_rows(rows: Iterable[Row[Any]]) -> dict[uuid.UUID, AccessRows]:
    found: dict[uuid.UUID, AccessRows] = defaultdict(list)
    for row in rows:
        if row.access_id is not None:
            access = AccessView(row.access_id, row.access_user, row.access_resource, row.access_role)
            found[row.access_resource].append((access, row))
    return found


async def accesses_by_room(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, room_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AccessRows]:
    """Every access (with its user) of these rooms, newest first, in one query (rows, no ORM)."""
    if not room_ids:
        return {}
    params = {"room_ids": list(room_ids)}
    return _access_rows(await read_all(request, db_session, _ACCESSES_OF_ROOMS, params))


def _caller_view_query(*, with_user: bool) -> Select[Any]:
    """The caller's role in a room and, only when it is privileged, the room's accesses.

    One statement. ``mine`` is the caller's access (one per user and room); the room's
    accesses (with their users) are outer-joined on a privileged role only, so a member
    gets one row (the role) and a stranger one row of NULLs, or none without ``with_user``.
    ``with_user`` also reads the caller (``me_*`` columns; no row when inactive or gone):
    the session's user, role and accesses in one round trip.
    """
    access, member = _ACCESS.alias("a"), _USER.alias("u")
    columns = [
        access.c.id.label("access_id"),
        access.c.user_id.label("access_user"),
        access.c.resource_id.label("access_resource"),
        access.c.role.label("access_role"),
        *(member.c[name] for name in USER_JSON_FIELDS),
    ]
    accesses = access.join(member, member.c.id == access.c.user_id)
    mine: FromClause
    source: FromClause
    where: list[ColumnElement[bool]]
    caller: list[ColumnElement[Any]]
    if with_user:
        me, mine = _USER.alias("me"), _ACCESS.alias("mine")
        mine_on = and_(mine.c.resource_id == bindparam("room_id"), mine.c.user_id == me.c.id)
        source = me.outerjoin(mine, mine_on)
        where = [me.c.id == bindparam("user_id"), me.c.is_active]
        caller = [me.c[name].label(f"me_{name}") for name in USER_FIELDS]
    else:
        mine = (
            select(_ACCESS.c.role)
            .where(_ACCESS.c.resource_id == bindparam("room_id"), _ACCESS.c.user_id == bindparam("user_id"))
            .subquery("mine")
        )
        source, where, caller = mine, [], []
    on = and_(access.c.resource_id == bindparam("room_id"), mine.c.role.in_(sorted(PRIVILEGED_ROLES)))
    return (
        select(*caller, mine.c.role.label("my_role"), *columns)
        .select_from(source.outerjoin(accesses, on))
        .where(*where)
        .order_by(access.c.created_at.desc(), access.c.id)
    )


_ROLE_AND_ACCESSES = _caller_view_query(with_user=False)
_USER_ROLE_AND_ACCESSES = _caller_view_query(with_user=True)


async def role_and_accesses(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, room: Room, user: User | None
) -> tuple[str | None, AccessRows]:
    """The caller's role and, when privileged, the room's accesses: one round trip.

    Read on every request (never cached): a revoked access or a changed role is seen by the
    next request, on every worker. Outside a transaction, on an autocommit connection.
    """
    if user is None:
        return None, []
    rows = await read_all(request, db_session, _ROLE_AND_ACCESSES, {"room_id": room.id, "user_id": user.id})
    if not rows:
        return None, []
    return rows[0].my_role, _access_rows(rows).get(room.id, [])


async def user_role_and_accesses(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, room: Room, user_id: uuid.UUID
) -> tuple[User | None, str | None, AccessRows]:
    """The active user of ``user_id``, their role in the room and, when privileged, its accesses.

    :func:`role_and_accesses` and the session's user in the same round trip (the logged-in
    retrieve: the session in Valkey, then this one statement). Never cached, as above.
    """
    params = {"room_id": room.id, "user_id": user_id}
    rows = await read_all(request, db_session, _USER_ROLE_AND_ACCESSES, params)
    if not rows:
        return None, None, []
    return detached_user(rows[0]._mapping, "me_"), rows[0].my_role, _access_rows(rows).get(room.id, [])


async def accesses_of(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, room: Room, role: str | None
) -> AccessRows:
    """The room's accesses (with users) for a caller of ``role``: none unless privileged."""
    if role not in PRIVILEGED_ROLES:
        return []
    return (await accesses_by_room(request, db_session, [room.id])).get(room.id, [])


async def count_rooms(request: Request[Any, Any, Any], db_session: AsyncSession | None, user: User) -> int:
    """How many rooms ``user`` has an access to (one access per user and room: no duplicates)."""
    found = await read_first(request, db_session, _COUNT_ROOMS, {"user_id": user.id})
    return int(found["count"]) if found is not None else 0


async def rooms_page(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, user: User, offset: int, limit: int
) -> tuple[list[tuple[Room, str]], dict[uuid.UUID, AccessRows]]:
    """A page of ``user``'s rooms by name, with the caller's role, and the privileged rooms' accesses.

    Two queries whatever the page size, on autocommit connections outside a transaction:
    the rooms joined with the caller's access, then the accesses (with users) of the rooms
    the caller administers. The rooms are transient (:func:`room_from_row`), for display.
    """
    params = {"user_id": user.id, "offset": offset, "limit": limit}
    rows = await read_all(request, db_session, _ROOMS_PAGE, params)
    page = [(room_from_row(row._mapping), row.access_role) for row in rows]
    privileged = [room.id for room, role in page if role in PRIVILEGED_ROLES]
    return page, await accesses_by_room(request, db_session, privileged)


def valid_slug(name: str) -> str:
    """The slug of ``name``, or the model's 400: too long (on ``slug``) or UUID-like."""
    slug = slugify(name)
    if len(slug) > SLUG_MAX_LENGTH:
        raise FieldErrors({"slug": [f"Ensure this field has no more than {SLUG_MAX_LENGTH} characters."]})
    if parse_uuid(slug) is not None:
        raise FieldErrors({"name": [f'Room name "{name}" is reserved.']})
    return slug


async def checked_slug(db_session: AsyncSession, name: str, exclude: uuid.UUID | None = None) -> str:
    """The slug of ``name``, or the model's 400: too long (on ``slug``), UUID-like, or taken."""
    slug = valid_slug(name)
    query = select(Room.id).where(Room.slug == slug)
    if exclude is not None:
        query = query.where(Room.id != exclude)
    if await db_session.scalar(query.limit(1)) is not None:
        raise FieldErrors({"slug": [SLUG_TAKEN]})
    return slug


async def _flush(db_session: AsyncSession) -> None:
    """Flush; a unique-slug race lost to another request is the same 400 as a taken slug."""
    try:
        await db_session.flush()
    except IntegrityError as exc:
        raise FieldErrors({"slug": [SLUG_TAKEN]}) from exc


def _new_room(
    request: Request[Any, Any, Any], user: User, data: RoomInput, user_defaults: bool
) -> dict[str, Any]:
    """A new room's columns from a validated body; the user's defaults fill what the body left out."""
    assert isinstance(data.name, str)
    # No SELECT for a taken slug: the unique index refuses it at the insert, the same 400.
    slug = valid_slug(data.name)
    access_level = data.access_level
    if access_level is msgspec.UNSET:
        preferred = user.default_room_access_level if user_defaults else None
        access_level = preferred or core_settings(request).resource_default_access_level
    configuration = data.configuration
    omitted = configuration is msgspec.UNSET or configuration == {}
    if user_defaults and omitted and user.default_room_configuration:
        configuration = dict(user.default_room_configuration)
    return {
        "id": uuid.uuid4(),  # the column's default, known before the insert: one statement for both rows
        "name": data.name,
        "slug": slug,
        "access_level": access_level,
        "configuration": {} if configuration is msgspec.UNSET else configuration,
    }


async def create_room(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    user: User,
    data: RoomInput,
    callback_id: Any = None,
    *,
    user_defaults: bool = True,
) -> Room:
    """A new room owned by ``user``; the user's defaults fill what the body left out.

    ``user_defaults=False`` ignores the user's preferences (the external API, services.md §8.5):
    the core's default access level and an empty configuration then fill the gaps.
    The ORM path, in the request's transaction: ``POST /rooms/`` takes it only when a plugin
    implements ``meet_room_created`` (else :func:`insert_room`).
    """
    room = Room(**_new_room(request, user, data, user_defaults))
    db_session.add_all([room, ResourceAccess(resource_id=room.id, user_id=user.id, role=Role.OWNER.value)])
    await _flush(db_session)
    if callback_id:
        await creation_callback.remember(request, str(callback_id), str(room.slug))
    await hooks(request).room_created(request, db_session, room, user)
    return room


_ROOM = cast(Table, Room.__table__)
_ACCESS_TABLE = cast(Table, ResourceAccess.__table__)
_ROOM_INSERTED = ("id", "name", "slug", "access_level", "configuration", "created_at", "updated_at")
_ACCESS_INSERTED = ("id", "resource_id", "user_id", "role", "created_at", "updated_at")
_NOW = bindparam("now", type_=_ROOM.c.created_at.type)
#: The caller, only while active: both inserts are guarded by it (no row for a user gone or
#: deactivated meanwhile, whatever a worker's cache still says).
_ACTIVE_OWNER = select(*USER_COLUMNS).where(_USER.c.id == bindparam("user_id"), _USER.c.is_active)
_ROOM_VALUES = select(
    *(bindparam(f"room_{name}", type_=_ROOM.c[name].type) for name in _ROOM_INSERTED[:-2]), _NOW, _NOW
)
_ACCESS_VALUES = [
    bindparam("access_id", type_=_ACCESS.c.id.type),
    bindparam("room_id", type_=_ACCESS.c.resource_id.type),
    bindparam("user_id", type_=_ACCESS.c.user_id.type),
    literal(Role.OWNER.value, _ACCESS.c.role.type),
    _NOW,
    _NOW,
]


def _create_on_postgresql() -> Select[Any]:
    """One statement (atomic without a transaction): the room and its owner's access, or nothing.

    ``owner`` is the active caller; the room is inserted from it (no row without it) and the
    access from the inserted room. Returns the owner's row (read by the statement: fresh)
    when both were inserted, else no row.
    """
    owner = _ACTIVE_OWNER.cte("owner")
    room_values = _ROOM_VALUES.select_from(owner)
    new_room = (
        insert(_ROOM)
        .from_select(list(_ROOM_INSERTED), room_values, include_defaults=False)
        .returning(_ROOM.c.id)
        .cte("new_room")
    )
    access_values = select(*_ACCESS_VALUES).select_from(new_room)
    new_access = (
        insert(_ACCESS_TABLE)
        .from_select(list(_ACCESS_INSERTED), access_values, include_defaults=False)
        .returning(_ACCESS.c.id)
        .cte("new_access")
    )
    return select(*(owner.c[name] for name in USER_FIELDS)).select_from(owner.join(new_access, true()))


_CREATE_ON_POSTGRESQL = _create_on_postgresql()
#: Elsewhere (SQLite: no data-modifying CTE), two statements in one short transaction.
_INSERT_GUARDED_ROOM = insert(_ROOM).from_select(
    list(_ROOM_INSERTED), _ROOM_VALUES.where(_ACTIVE_OWNER.exists()), include_defaults=False
)
_INSERT_OWNER_ACCESS = insert(_ACCESS_TABLE).from_select(
    list(_ACCESS_INSERTED), select(*_ACCESS_VALUES), include_defaults=False
)
_READ_OWNER = _ACTIVE_OWNER


def _is_slug_taken(exc: Exception) -> bool:
    """Whether the unique slug refused the row (PostgreSQL names the constraint, SQLite the column)."""
    message = str(getattr(exc, "orig", exc))
    return "uq_meet_room_slug" in message or "meet_room.slug" in message


def _is_user_gone(exc: Exception) -> bool:
    """Whether the owner's row was deleted between the guard and the access's foreign key check."""
    message = str(getattr(exc, "orig", exc))
    return "fk_meet_resource_access_user_id" in message or "FOREIGN KEY constraint failed" in message


async def insert_room(
    request: Request[Any, Any, Any], user: User, data: RoomInput
) -> tuple[Room, AccessView, User] | None:
    """A new room owned by ``user``, committed: the room, the owner's access and the owner's row.

    None if the user is gone or inactive. The fast path of ``POST /rooms/`` (no plugin
    implements ``meet_room_created``): SQLAlchemy Core, no request transaction; on PostgreSQL
    (asyncpg) one statement shared with the creations that arrive at the same time
    (``meet_core.rooms.batched_insert``), elsewhere one statement, or three in one transaction
    where a statement cannot insert into two tables (SQLite). The inserts are guarded by the
    user's row (active), so a caller taken from a worker's cache cannot create a room once
    deactivated or deleted, and the owner returned is the row the statement read. A taken
    slug is the usual 400. The generation stamps of the room and of the user's rooms (their
    list now shows it) are bumped before returning.
    """
    columns = _new_room(request, user, data, user_defaults=True)
    now = datetime.now(UTC)
    columns.update(created_at=now, updated_at=now)
    room = room_from_row(columns)
    access = AccessView(uuid.uuid4(), user.id, room.id, Role.OWNER.value)
    owner: Mapping[str, Any] | None = None
    try:
        batcher = room_insertions(request)
        if batcher is not None:
            outcome = await batcher.submit(
                NewRoom(
                    room.id,
                    room.name,
                    room.slug,
                    room.access_level,
                    columns["configuration"],
                    access.id,
                    user.id,
                    now,
                )
            )
            if outcome is TAKEN_SLUG:
                raise FieldErrors({"slug": [SLUG_TAKEN]})
            owner = cast(Mapping[str, Any] | None, outcome)
        else:
            owner = await _insert_with_sqlalchemy(request, columns, access, user.id, now)
    except (IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
        if _is_slug_taken(exc):
            raise FieldErrors({"slug": [SLUG_TAKEN]}) from exc
        if _is_user_gone(exc):
            return None
        raise
    if owner is None:
        return None
    await _bump_created(request, room.id, user.id, owner)
    unchanged = all(getattr(user, name) == owner[name] for name in USER_FIELDS)
    return room, access, user if unchanged else detached_user(owner)


async def _insert_with_sqlalchemy(
    request: Request[Any, Any, Any],
    columns: Mapping[str, Any],
    access: AccessView,
    user_id: uuid.UUID,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The guarded inserts through SQLAlchemy (PostgreSQL through another driver, SQLite)."""
    params = {f"room_{name}": columns[name] for name in _ROOM_INSERTED[:-2]}
    params.update(now=now, access_id=access.id, user_id=user_id)
    engine = request.app.state.db_config.get_engine()
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            return (await connection.execute(_CREATE_ON_POSTGRESQL, params)).mappings().first()
    async with engine.begin() as connection:
        if (await connection.execute(_INSERT_GUARDED_ROOM, params)).rowcount != 1:
            return None
        await connection.execute(_INSERT_OWNER_ACCESS, params)
        return (await connection.execute(_READ_OWNER, params)).mappings().first()


async def _bump_created(
    request: Request[Any, Any, Any], room_id: uuid.UUID, user_id: uuid.UUID, owner: Mapping[str, Any]
) -> None:
    """New stamps for the room and for the owner's rooms (their list); the owner's row, which
    the statement read after the session's stamps were read, cached under the user's stamp
    (the reader's rule: a change committed meanwhile bumped it, so the entry cannot match).

    The user's own stamp stays: creating a room changes no user row, so a user creating
    rooms keeps their cached row. A failed bump (Valkey down) is logged, not an error: the
    rows are committed (as in ``meet_core.generations.before_send_handler``).
    """
    try:
        await bump(pipelined_valkey(request), [room_id], rooms_of=[user_id])
    except Exception as exc:
        log.warning("generation stamps not bumped: %r", exc)
    cache = user_cache(request)
    if cache is not None:
        cache.put(user_id, (request_stamps(request)[2],), dict(owner))


async def update_room(
    request: Request[Any, Any, Any], db_session: AsyncSession, room: Room, data: RoomInput
) -> None:
    """Apply a validated body; mirror a changed access level or configuration to LiveKit."""
    changed: set[str] = set()
    if isinstance(data.name, str):
        slug = await checked_slug(db_session, data.name, exclude=room.id)
        if data.name != room.name:
            changed.add("name")
        if slug != room.slug:
            changed.add("slug")
        room.name, room.slug = data.name, slug
    if isinstance(data.access_level, str) and data.access_level != room.access_level:
        room.access_level = data.access_level
        changed.add("access_level")
    if isinstance(data.configuration, dict) and data.configuration != (room.configuration or {}):
        room.configuration = data.configuration
        changed.add("configuration")
    await _flush(db_session)
    if changed:
        forget_room(request, room)
    if changed & {"access_level", "configuration"}:
        await metadata.mirror_room_settings(request, room)
    if changed:
        await hooks(request).room_updated(request, db_session, room, frozenset(changed))


async def delete_room(
    request: Request[Any, Any, Any], db_session: AsyncSession, room: Room, role: str | None
) -> None:
    """Only owners delete a room; its accesses go with it (database cascade)."""
    if role != Role.OWNER.value:
        raise permission_denied()
    await db_session.delete(room)
    await db_session.flush()
    forget_room(request, room)
    await hooks(request).room_deleted(request, db_session, room)
