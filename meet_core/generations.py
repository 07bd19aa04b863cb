"""Generation stamps in Valkey: per-worker caches of logged-in reads, never stale across workers.

Every room and every user has a stamp in Valkey (``gen:room:<id>``, ``gen:user:<id>``), and
so have each user's rooms (``gen:rooms-of:<id>``): an opaque value, replaced by a new value
(:func:`bump`) after every committed change to what the logged-in reads show: the room's row
or its accesses (the room's stamp), the user's row (the user's stamp and the stamps of every
room they have an access to, whose ``accesses`` show them), and any of those changes to one
of a user's rooms, or an access of theirs coming or going (the user's rooms stamp: their
room list, ``GET rooms/``). The changes are found by SQLAlchemy ORM events on every session
(requests, command line, plugins): :func:`_collect` before each flush, moved to "committed"
by the session's commit, and bumped by the request's ``before_send`` handler right after the
commit (:func:`before_send_handler`), before the response starts; a command line tool calls
:func:`bump_committed` after its commit.

Readers read the stamps *before* the database, in the same Valkey round trip as the session
(:data:`READ_SESSION_AND_STAMPS`), and cache what they read under the stamps read before.
A writer commits then bumps, so a reader that read an old stamp and new rows caches new rows
under an old stamp (a harmless miss later); one that read old rows under the old stamp is
told by the new stamp. A missing stamp (evicted, flushed, expired) is initialised by the
reader with a new value: an entry cached under an older value can never match again
(:func:`new_stamp`: a random 64-bit prefix per process and a counter, never a bare counter
that a flush would restart).

Bounds, documented in docs/configuration.md (``LOGGED_IN_CACHE_TTL``): a change made through
the server is seen by every worker's next request; one made behind its back (raw SQL, a
Valkey write lost with an outage) within ``LOGGED_IN_CACHE_TTL`` seconds.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.asyncio import autocommit_handler_maker
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from meet_core.db import metadata
from meet_core.pipelined_valkey import PipelinedValkey, Script

log = logging.getLogger(__name__)

#: Seconds a stamp lives in Valkey without a write (a missing one is re-initialised).
STAMP_TTL = 7 * 24 * 3600

_PENDING = "meet.generations.pending"
_COMMITTED = "meet.generations.committed"

Stamps = tuple[bytes | None, ...]


def room_stamp_key(room_id: uuid.UUID | str) -> str:
    return f"gen:room:{room_id}"


def user_stamp_key(user_id: uuid.UUID | str) -> str:
    return f"gen:user:{user_id}"


def rooms_stamp_key(user_id: uuid.UUID | str) -> str:
    """The stamp of a user's rooms (their room list), apart from their own row's."""
    return f"gen:rooms-of:{user_id}"


#: This process's random prefix: with a counter, stamps that never repeat (no urandom per call).
#: Drawn again in a forked child (granian's workers), which must not repeat its parent's.
_PREFIX = secrets.token_hex(8)
_COUNTER = itertools.count()


def _new_prefix() -> None:
    global _PREFIX, _COUNTER
    _PREFIX, _COUNTER = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_new_prefix)


def new_stamp() -> str:
    """A value no stamp ever had: a random 64-bit prefix per process and a counter."""
    return f"{_PREFIX}-{next(_COUNTER)}"


#: KEYS[1] the session key, KEYS[2] (optional) a room's stamp key; ARGV: a new stamp,
#: the stamps' TTL. Returns {session or false, room stamp or false, user stamp or false, rooms
#: stamp or false}: the session, and the stamps of the room, of the session's user and of
#: their rooms (``user_id`` in the session's JSON; keys built in the script, fine on one
#: primary), initialised when missing.
READ_SESSION_AND_STAMPS = Script.of(
    """
local raw = redis.pcall('GET', KEYS[1])
if type(raw) ~= 'string' then raw = false end
local function stamp(key)
  local value = redis.call('GET', key)
  if not value then
    value = ARGV[1]
    redis.call('SET', key, value, 'EX', ARGV[2])
  end
  return value
end
local room = false
if KEYS[2] then room = stamp(KEYS[2]) end
local user = false
local rooms = false
if raw then
  local ok, data = pcall(cjson.decode, raw)
  if ok and type(data) == 'table' and type(data['user_id']) == 'string' then
    user = stamp('gen:user:' .. data['user_id'])
    rooms = stamp('gen:rooms-of:' .. data['user_id'])
  end
end
return {raw, room, user, rooms}
"""
)

#: KEYS: stamp keys; ARGV: one new stamp per key, then the TTL.
_BUMP = Script.of(
    """
local ttl = ARGV[#ARGV]
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'EX', ttl) end
return #KEYS
"""
)


async def read_session_and_stamps(
    valkey: PipelinedValkey, session_key: str, room_id: uuid.UUID | None
) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
    """The raw session, the room's stamp (None without ``room_id``), the session user's stamp
    and the stamp of that user's rooms."""
    keys = [session_key] if room_id is None else [session_key, room_stamp_key(room_id)]
    raw, room, user, rooms = await valkey.run_script(READ_SESSION_AND_STAMPS, keys, [new_stamp(), STAMP_TTL])
    return raw, room, user, rooms


async def bump(
    valkey: PipelinedValkey,
    rooms: Iterable[uuid.UUID],
    users: Iterable[uuid.UUID] = (),
    rooms_of: Iterable[uuid.UUID] = (),
) -> None:
    """New stamps for these rooms, users and users' rooms: every worker's cached reads of them
    are dropped."""
    keys = [room_stamp_key(room) for room in rooms] + [user_stamp_key(user) for user in users]
    keys += [rooms_stamp_key(user) for user in rooms_of]
    if keys:
        await valkey.run_script(_BUMP, keys, [*(new_stamp() for _ in keys), STAMP_TTL])


V = TypeVar("V")


class StampedCache(Generic[V]):
    """A worker's LRU cache of values valid while their stamps are unchanged, ``ttl`` at most.

    A value cached under a missing stamp (None) is never served.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Any, tuple[float, Stamps, V]] = OrderedDict()

    def get(self, key: Any, stamps: Stamps) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, cached_stamps, value = entry
        if cached_stamps != stamps or deadline < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: Any, stamps: Stamps, value: V) -> None:
        if None in stamps:
            return
        self._entries[key] = (time.monotonic() + self.ttl, stamps, value)
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


#: A user's columns, by user id (``users/me`` and every logged-in request's user).
UserCache = StampedCache[dict[str, Any]]
#: (room id, user id): the room, the user's columns, role and the room's rows payload (the retrieve).
RoomViewCache = StampedCache[tuple[Any, dict[str, Any], str | None, dict[str, Any]]]
#: (user id, query string): the user's room count and one page of (room, role, rows payload),
#: valid under the stamp of the user's rooms alone (every change to one of them bumps it, see above).
RoomListCache = StampedCache[tuple[int, list[tuple[Any, str | None, dict[str, Any]]]]]


class LoggedInCaches:
    """A worker's caches of logged-in reads (``LOGGED_IN_CACHE_TTL``), one per kind of read."""

    def __init__(self, ttl: float) -> None:
        self.users: UserCache = StampedCache(ttl)
        self.room_views: RoomViewCache = StampedCache(ttl)
        # A page holds 20 rooms with their accesses (~50 kB): fewer entries, bounded memory.
        self.room_lists: RoomListCache = StampedCache(ttl, max_entries=500)


def logged_in_caches(ttl: float) -> LoggedInCaches | None:
    """The worker's caches of logged-in reads (``LOGGED_IN_CACHE_TTL``; 0: none)."""
    return LoggedInCaches(ttl) if ttl > 0 else None


def _caches(request: Any) -> LoggedInCaches | None:
    return request.app.state.logged_in_caches  # type: ignore[no-any-return]


def user_cache(request: Any) -> UserCache | None:
    caches = _caches(request)
    return caches.users if caches is not None else None


def room_view_cache(request: Any) -> RoomViewCache | None:
    caches = _caches(request)
    return caches.room_views if caches is not None else None


def room_list_cache(request: Any) -> RoomListCache | None:
    caches = _caches(request)
    return caches.room_lists if caches is not None else None


# --- Writers: what a session's flushes change, bumped after its commit ----------------------


#: The tables whose rows the cached reads show (named, not imported: the models sit above).
_ROOMS, _ACCESSES, _USERS = "meet_room", "meet_resource_access", "meet_user"


def _table_name(obj: object) -> str | None:
    return getattr(getattr(obj, "__table__", None), "name", None)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context: Any, _instances: Any) -> None:
    """Note the stamps this flush changes (bumped after the commit).

    A room's stamp: its row or its accesses changed, or the user of one of its accesses
    (``accesses`` show them). A user's stamp: their row changed. A user's rooms stamp (their
    room list): one of their rooms changed in any of those ways, or an access of theirs came
    or went.
    """
    rooms: set[uuid.UUID] = set()
    new_rooms: set[uuid.UUID] = set()
    users: set[uuid.UUID] = set()
    members: set[uuid.UUID] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        name = _table_name(obj)
        if name not in (_ROOMS, _ACCESSES, _USERS):
            continue
        new = obj in session.new
        if not new and obj not in session.deleted and not session.is_modified(obj, include_collections=False):
            continue
        if name == _ROOMS and getattr(obj, "id", None) is not None:
            rooms.add(obj.id)  # type: ignore[attr-defined]
            if new:
                new_rooms.add(obj.id)  # type: ignore[attr-defined]
        elif name == _ACCESSES and getattr(obj, "resource_id", None) is not None:
            rooms.add(obj.resource_id)  # type: ignore[attr-defined]
            if getattr(obj, "user_id", None) is not None:
                members.add(obj.user_id)  # type: ignore[attr-defined]
        elif name == _USERS and not new and getattr(obj, "id", None) is not None:
            users.add(obj.id)  # type: ignore[attr-defined]
    accesses = metadata.tables[_ACCESSES]  # the model's table: its column types bind the ids
    with session.no_autoflush:
        if users:
            found = session.execute(select(accesses.c.resource_id).where(accesses.c.user_id.in_(users)))
            rooms.update(found.scalars())
        existing = rooms - new_rooms  # a new room's members are its new accesses, noted above
        if existing:
            found = session.execute(select(accesses.c.user_id).where(accesses.c.resource_id.in_(existing)))
            members.update(found.scalars())
    if rooms or users or members:
        pending = session.info.setdefault(_PENDING, (set(), set(), set()))
        for noted, found_now in zip(pending, (rooms, users, members), strict=True):
            noted.update(found_now)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        committed = session.info.setdefault(_COMMITTED, (set(), set(), set()))
        for noted, found in zip(committed, pending, strict=True):
            noted.update(found)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


async def bump_committed(session: Any, valkey: PipelinedValkey) -> None:
    """Bump what ``session`` (an ``AsyncSession`` or ``Session``) committed; for command line tools."""
    committed = session.info.pop(_COMMITTED, None)
    if committed is not None:
        await bump(valkey, *committed)


def before_send_handler(
    session_scope_key: str, valkey: Callable[[Any], PipelinedValkey]
) -> Callable[[Any, Any], Awaitable[None]]:
    """advanced-alchemy's ``autocommit`` handler, then the bump of what the commit changed.

    Before the response starts: a client that saw the response of a change sees it on every
    worker. A bump that fails (Valkey down) is logged; the change then shows within
    ``LOGGED_IN_CACHE_TTL`` (readers cannot read sessions without Valkey meanwhile).
    """
    commit = autocommit_handler_maker(session_scope_key=session_scope_key)

    async def handler(message: Any, scope: Any) -> None:
        start = message["type"] == "http.response.start"
        session = get_aa_scope_state(scope, session_scope_key) if start else None
        await commit(message, scope)
        if session is not None and _COMMITTED in session.info:
            try:
                await bump_committed(session, valkey(scope["app"]))
            except Exception as exc:  # the change is committed: report it, don't fail the response
                log.warning("generation stamps not bumped: %r", exc)

    return handler
