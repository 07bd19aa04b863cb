"""Server-side sessions in Valkey, the ``user`` dependencies and the CSRF check.

The session cookie (``sessionid``) holds a random id; the session itself (user id, CSRF
secret, OIDC id token, login state) is a msgspec-encoded value in Valkey under
``session:<id>`` with the cookie's age as TTL, so any worker on any host can read it.

CSRF follows DRF: only requests authenticated by the session are checked, and only for
unsafe methods; the ``X-CSRFToken`` header must equal the session's CSRF secret, which is
also the JS-readable ``csrftoken`` cookie set at login.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import Cookie
from sqlalchemy import RowMapping, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from valkey.asyncio import Valkey
from valkey.exceptions import ResponseError

from meet_core.db.request_session import existing_db_session, read_first
from meet_core.generations import read_session_and_stamps, user_cache
from meet_core.http.errors import not_authenticated, permission_denied
from meet_core.http.raw import cookie
from meet_core.state import core_settings, pipelined_valkey, valkey_client
from meet_core.users.models import USER_COLUMNS, USER_FIELDS, User, detached_user

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_SCOPE_SESSION = "meet.session"
_SCOPE_USER = "meet.user"
_SCOPE_STAMPS = "meet.stamps"
_MISSING = object()


class SessionData(msgspec.Struct, kw_only=True):
    """What a session holds. ``user_id`` is None while an OIDC login is in progress."""

    user_id: str | None = None
    csrf: str | None = None
    id_token: str | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


#: The active user of an id, with Core: one row, no ORM loading.
_ACTIVE_USER = select(*USER_COLUMNS).where(User.__table__.c.id == bindparam("user_id"), User.is_active)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(SessionData)


def _key(session_id: str) -> str:
    return f"session:{session_id}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def load_session(
    request: Request[Any, Any, Any], room_id: uuid.UUID | None = None
) -> tuple[str, SessionData] | None:
    """The request's session (id and data), read once per request.

    With the logged-in caches on, in the same round trip the generation stamps of the
    session's user and of ``room_id`` (:func:`request_stamps`), read before any database read.
    """
    cached = request.scope.get(_SCOPE_SESSION, _MISSING)  # type: ignore[call-overload]
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    result = None
    raw: bytes | None = None
    session_id = cookie(request, core_settings(request).session_cookie_name)
    if session_id and user_cache(request) is not None:
        raw, room_stamp, user_stamp, rooms_stamp = await read_session_and_stamps(
            pipelined_valkey(request), _key(session_id), room_id
        )
        stamps = (room_id, room_stamp, user_stamp, rooms_stamp)
        request.scope[_SCOPE_STAMPS] = stamps  # type: ignore[literal-required]
    elif session_id:
        try:
            raw = await pipelined_valkey(request).execute("GET", _key(session_id))
        except ResponseError as exc:  # a key of another type (a list...) names no session either
            if not str(exc).startswith("WRONGTYPE"):
                raise
            raw = None
    if session_id and raw is not None:
        try:
            result = (session_id, _decoder.decode(raw))
        except msgspec.DecodeError:
            result = None
    request.scope[_SCOPE_SESSION] = result  # type: ignore[literal-required]
    return result


async def store_session(client: Valkey, session_id: str | None, data: SessionData, age: int) -> str:
    """Write a session to Valkey (a new random id when ``session_id`` is None); return its id."""
    session_id = session_id or secrets.token_urlsafe(32)
    await client.set(_key(session_id), _encoder.encode(data), ex=age)
    return session_id


async def save_session(request: Request[Any, Any, Any], session_id: str | None, data: SessionData) -> str:
    """Store ``data`` (under a new id when ``session_id`` is None) and return the id."""
    core = core_settings(request)
    session_id = await store_session(valkey_client(request), session_id, data, core.session_cookie_age)
    request.scope[_SCOPE_SESSION] = (session_id, data)  # type: ignore[literal-required]
    return session_id


async def delete_session(request: Request[Any, Any, Any], session_id: str) -> None:
    await valkey_client(request).delete(_key(session_id))
    request.scope[_SCOPE_SESSION] = None  # type: ignore[literal-required]


def session_cookies(request: Request[Any, Any, Any], session_id: str, data: SessionData) -> list[Cookie]:
    """The ``sessionid`` cookie and, for a logged-in session, the JS-readable ``csrftoken``."""
    core = core_settings(request)
    cookies = [
        Cookie(
            key=core.session_cookie_name,
            value=session_id,
            max_age=core.session_cookie_age,
            httponly=True,
            samesite="lax",
            secure=core.session_cookie_secure,
            path="/",
        )
    ]
    if data.csrf:
        cookies.append(
            Cookie(
                key=core.csrf_cookie_name,
                value=data.csrf,
                max_age=31449600,
                httponly=False,
                samesite="lax",
                secure=core.csrf_cookie_secure,
                path="/",
            )
        )
    return cookies


def clear_session_cookies(request: Request[Any, Any, Any], response: Response[Any]) -> None:
    core = core_settings(request)
    response.delete_cookie(core.session_cookie_name, path="/")


async def login(request: Request[Any, Any, Any], user: User, *, id_token: str | None = None) -> list[Cookie]:
    """Start a logged-in session for ``user``; the id and CSRF secret rotate. Returns cookies to set."""
    previous = await load_session(request)
    if previous is not None:
        await delete_session(request, previous[0])
    data = SessionData(user_id=str(user.id), csrf=new_secret(), id_token=id_token)
    session_id = await save_session(request, None, data)
    request.scope[_SCOPE_USER] = user  # type: ignore[literal-required]
    return session_cookies(request, session_id, data)


def check_csrf(request: Request[Any, Any, Any], session: SessionData) -> None:
    """403 unless the CSRF cookie is set and the header carries the session's secret."""
    core = core_settings(request)
    if not cookie(request, core.csrf_cookie_name):
        raise permission_denied("CSRF Failed: CSRF cookie not set.")
    token = request.headers.get(core.csrf_header_name)
    if not token:
        raise permission_denied("CSRF Failed: CSRF token missing.")
    if not session.csrf or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise permission_denied("CSRF Failed: CSRF token incorrect.")


async def session_user_id(
    request: Request[Any, Any, Any], room_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, SessionData] | None:
    """The id of the user the session cookie names (not checked against the database yet)."""
    session = await load_session(request, room_id)
    if session is None or not session[1].user_id:
        return None
    try:
        return uuid.UUID(session[1].user_id), session[1]
    except ValueError:
        return None


async def session_user(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, *, reuse_cached: bool = False
) -> User | None:
    """The active user of the session cookie, or None. Unsafe methods are CSRF-checked.

    ``reuse_cached``: an unsafe method may take the worker's cached user too (see
    :func:`guarded_write_user`); safe methods always may.
    """
    cached = request.scope.get(_SCOPE_USER, _MISSING)  # type: ignore[call-overload]
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    user: User | None = None
    found = await session_user_id(request)
    if found is not None:
        user = await _active_user(request, db_session, found[0], reuse_cached)
        if user is not None and request.method not in SAFE_METHODS:
            check_csrf(request, found[1])
    request.scope[_SCOPE_USER] = user  # type: ignore[literal-required]
    return user


async def session_user_fields(request: Request[Any, Any, Any]) -> RowMapping | Mapping[str, Any] | None:
    """The columns (``USER_COLUMNS``) of the session's active user, or None, for a read-only
    route that only shows them (``users/me``): no ``User`` is built. Safe methods only."""
    assert request.method in SAFE_METHODS
    known = request.scope.get(_SCOPE_USER, _MISSING)  # type: ignore[call-overload]
    if known is not _MISSING:
        return None if known is None else {name: getattr(known, name) for name in USER_FIELDS}
    if not has_session_cookie(request):
        return None
    found = await session_user_id(request)
    if found is None:
        return None
    return await _active_user_fields(request, existing_db_session(request), found[0], False)


async def _active_user(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, user_id: uuid.UUID, reuse_cached: bool
) -> User | None:
    """The active user of this id (:func:`_active_user_fields`), built detached."""
    fields = await _active_user_fields(request, db_session, user_id, reuse_cached)
    return None if fields is None else detached_user(fields)


async def _active_user_fields(
    request: Request[Any, Any, Any], db_session: AsyncSession | None, user_id: uuid.UUID, reuse_cached: bool
) -> RowMapping | Mapping[str, Any] | None:
    """The columns of the active user of this id: a deactivation is seen by the next request on
    every worker.

    Safe methods (and ``reuse_cached``: :func:`guarded_write_user`) reuse the worker's cached
    row while the user's generation stamp (read with the session) is unchanged
    (``meet_core.generations``, ``LOGGED_IN_CACHE_TTL`` at most).

    One statement, on an autocommit connection when the request has no transaction yet (a
    read-only request then opens none: no BEGIN/COMMIT round trips). The ``User`` is built
    detached, as if loaded then expunged: a handler that adds it to ``db_session`` (or an
    object referencing it) attaches it without an INSERT.
    """
    cache = user_cache(request) if reuse_cached or request.method in SAFE_METHODS else None
    stamps = (request_stamps(request)[2],)
    if cache is not None:
        fields = cache.get(user_id, stamps)
        if fields is not None:
            return fields
    row = await read_first(request, db_session, _ACTIVE_USER, {"user_id": user_id})
    if row is None:
        return None
    if cache is not None:
        cache.put(user_id, stamps, dict(row))
    return row


async def guarded_write_user(request: Request[Any, Any, Any]) -> User:
    """The logged-in user (CSRF-checked), else 401, for a write that checks the user itself.

    Like ``current_user``, but the worker's cached user is reused (no database read while
    the user's generation stamp is unchanged, ``LOGGED_IN_CACHE_TTL`` at most): only for a
    write whose statement refuses a user that is inactive or gone (``POST /rooms/``:
    ``meet_core.rooms.service.insert_room``), so a stale entry can at most show an old
    display name.
    """
    user = None
    if has_session_cookie(request):
        user = await session_user(request, existing_db_session(request), reuse_cached=True)
    if user is None:
        raise not_authenticated()
    return user


def request_stamps(
    request: Request[Any, Any, Any],
) -> tuple[uuid.UUID | None, bytes | None, bytes | None, bytes | None]:
    """(room id, its stamp, the session user's stamp, their rooms' stamp) read with the
    session; Nones if not read."""
    found = request.scope.get(_SCOPE_STAMPS)  # type: ignore[call-overload]
    return found if found is not None else (None, None, None, None)  # type: ignore[return-value]


async def unread_session_user_id(
    request: Request[Any, Any, Any], room_id: uuid.UUID | None = None
) -> uuid.UUID | None:
    """For a read-only route that reads the user together with its own rows (one statement).

    The id the session names when the request's user was not read yet, else None (no
    session, or the user is known: :func:`provide_user` answers). The route must read the
    *active* user of this id and hand it (or None) to :func:`remember_user`. Safe methods
    only: an unsafe one must go through :func:`session_user` for its CSRF check. With
    ``room_id``, the room's generation stamp is read with the session (:func:`request_stamps`).
    """
    assert request.method in SAFE_METHODS
    if _SCOPE_USER in request.scope or not has_session_cookie(request):
        return None
    found = await session_user_id(request, room_id)
    return found[0] if found is not None else None


def remember_user(request: Request[Any, Any, Any], user: User | None) -> None:
    """The request's user, read by the route (:func:`unread_session_user_id`)."""
    request.scope[_SCOPE_USER] = user  # type: ignore[literal-required]


def has_session_cookie(request: Request[Any, Any, Any]) -> bool:
    """Whether the request carries a session cookie (read without parsing every cookie)."""
    return bool(cookie(request, core_settings(request).session_cookie_name))


async def provide_user(request: Request[Any, Any, Any]) -> User | None:
    """Dependency ``user``: the logged-in user or None (anonymous).

    Without a session cookie the caller is anonymous and no database session is opened
    (the join path and the lobby poll then cost no database work at all); with one, the
    user is read on an autocommit connection unless the request already opened a session.
    """
    if not has_session_cookie(request):
        return None
    return await session_user(request, existing_db_session(request))


async def provide_current_user(request: Request[Any, Any, Any]) -> User:
    """Dependency ``current_user``: the logged-in user, else 401 with ``WWW-Authenticate: Session``."""
    user = await provide_user(request)
    if user is None:
        raise not_authenticated()
    return user
