"""``/api/v1.0/rooms/``: list, create, retrieve, update, delete (spec/api.md §2.3).

Thin controllers: checks in the old order (authentication, lookup 404, permission 403, body
400), rules in :mod:`meet_core.rooms.service`, payloads in :mod:`meet_core.rooms.serializers`.
The anonymous retrieve of a public room, the join path, costs one query (outside any
transaction) and no network call.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response.base import ASGIResponse
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.db.request_session import existing_db_session, request_db_session
from meet_core.generations import room_list_cache, room_view_cache
from meet_core.http import API_PREFIX, pagination
from meet_core.http.body import read_json_object
from meet_core.http.errors import not_authenticated, not_found
from meet_core.http.openapi import error_responses, request_body
from meet_core.http.responses import JSON_OBJECT, JSON_OBJECT_CREATED, json_response
from meet_core.identity.sessions import (
    guarded_write_user,
    has_session_cookie,
    provide_current_user,
    provide_user,
    remember_user,
    request_stamps,
    unread_session_user_id,
)
from meet_core.rooms import creation_callback, service
from meet_core.rooms.join import CallerTokens
from meet_core.rooms.lookup import (
    ROOM_NOT_FOUND,
    get_room_and_role_or_404,
    require_privileged,
    resolve_room_key,
)
from meet_core.rooms.models import Role
from meet_core.rooms.schemas import RoomBody, RoomCreateBody, RoomPatchBody, validate_room_input
from meet_core.rooms.serializers import room_payload, room_rows_payload, unregistered_room_payload
from meet_core.state import core_settings, hooks
from meet_core.users.models import User

log = logging.getLogger(__name__)

ROOMS = f"{API_PREFIX}/rooms"
ROOM = f"{ROOMS}/{{room_key:str}}"
TAGS = ["rooms"]


@get(
    ROOMS,
    summary="List the caller's rooms",
    tags=TAGS,
    responses=error_responses(400, 404, 503, extra=JSON_OBJECT),
)
async def list_rooms(request: Request[Any, Any, Any], user: NamedDependency[User | None]) -> ASGIResponse:
    """Rooms where the caller has any access, by name, each with the caller's extras; anonymous: empty.

    Read-only: three statements on autocommit connections (count, page, accesses), no
    transaction; with ``LOGGED_IN_CACHE_TTL``, none while the user's generation stamp (read
    with the session) is unchanged: the worker's cached count and page are served, and only
    the plugins' fields and the tokens are made per request (:func:`room_payload`).
    """
    if user is None:
        page = pagination.resolve_page(request, 0, custom=True)
        return json_response(pagination.envelope(request, page, 0, []))
    cache = room_list_cache(request)
    key = (user.id, request.scope["query_string"])
    stamps = (request_stamps(request)[3],)  # the stamp of the user's rooms
    found = cache.get(key, stamps) if cache is not None else None
    if found is not None:
        count, rows = found
        page = pagination.resolve_page(request, count, custom=True)
    else:
        db_session = existing_db_session(request)
        count = await service.count_rooms(request, db_session, user)
        page = pagination.resolve_page(request, count, custom=True)
        page_rows, accesses = await service.rooms_page(request, db_session, user, page.offset, page.size)
        rows = [
            (room, role, room_rows_payload(room, role, accesses.get(room.id, ()))) for room, role in page_rows
        ]
        if cache is not None:
            cache.put(key, stamps, (count, rows))
    tokens = CallerTokens(request, user, request.query_params.get("username"))
    results = [
        await room_payload(request, room, user, role, rows_payload=base, tokens=tokens)
        for room, role, base in rows
    ]
    return json_response(pagination.envelope(request, page, count, results))


@post(
    ROOMS,
    summary="Create a room",
    tags=TAGS,
    status_code=201,
    dependencies=request_body(RoomCreateBody),
    responses=error_responses(400, 401, 403, 415, 503, extra=JSON_OBJECT_CREATED),
)
async def create_room(request: Request[Any, Any, Any]) -> ASGIResponse:
    """A new room owned by the caller (201, owner view); ``callback_id`` hands its slug to a poller.

    Without ``meet_room_created`` implementations: no dependency injection, no ORM, no
    request transaction: the session (Valkey, with the user's stamp; the user from the
    worker's cache while unchanged), one guarded insert statement (two in a transaction on
    SQLite) that refuses an inactive or deleted user (401 as before), the stamps' bump, the
    callback once the rows exist; the owner's role and access are known, not read back.
    With implementations, the ORM path in the request's transaction (their contract:
    the ORM room, its rows visible in ``db_session``, each in a SAVEPOINT; docs/hooks.md).
    """
    if hooks(request).has_room_created:
        return await _create_room_with_hooks(request)
    user = await guarded_write_user(request)
    body = await read_json_object(request)
    data = validate_room_input(body, partial=False)
    created = await service.insert_room(request, user, data)
    if created is None:  # deactivated or deleted since the worker cached it
        raise not_authenticated()
    room, access, owner = created  # the owner as the statement read it (fresh)
    callback_id = body.get("callback_id")
    if callback_id:
        await _remember_callback(request, str(callback_id), str(room.slug))
    remember_user(request, owner)
    payload = await room_payload(request, room, owner, Role.OWNER.value, [(access, owner)])
    return json_response(payload, status_code=201)


async def _remember_callback(request: Request[Any, Any, Any], callback_id: str, slug: str) -> None:
    """Hand the slug over once the room exists; Valkey failing now is logged (the room is created)."""
    try:
        await creation_callback.remember(request, callback_id, slug)
    except Exception as exc:
        log.warning("creation callback %r not stored for room %r: %r", callback_id, slug, exc)


async def _create_room_with_hooks(request: Request[Any, Any, Any]) -> ASGIResponse:
    current_user = await provide_current_user(request)
    db_session = request_db_session(request)
    body = await read_json_object(request)
    data = validate_room_input(body, partial=False)
    room = await service.create_room(request, db_session, current_user, data, body.get("callback_id"))
    role, accesses = await service.role_and_accesses(request, db_session, room, current_user)
    return json_response(await room_payload(request, room, current_user, role, accesses), status_code=201)


@get(
    ROOM,
    summary="Retrieve a room (and a LiveKit token when the caller may join)",
    tags=TAGS,
    responses=error_responses(400, 404, 503, extra=JSON_OBJECT),
)
async def retrieve_room(request: Request[Any, Any, Any], room_key: FromPath[str]) -> ASGIResponse:
    """The room for this caller; an unknown key is an unregistered room when they are allowed.

    The join path, kept lean: no database session is opened (every read runs on an
    autocommit connection, no dependency injection); an anonymous caller costs one query,
    or none when the room is cached; a logged-in one the session (Valkey) and one query for
    their user, role and the accesses (:func:`service.user_role_and_accesses`), plus the
    room's when it is not cached; with ``LOGGED_IN_CACHE_TTL``, a cached room and unchanged
    generation stamps (read with the session): no database read at all
    (:func:`service.cached_user_role_and_accesses`). The body is encoded once (:func:`json_response`).
    """
    logged_in = room_view_cache(request) is not None and has_session_cookie(request)
    cached = service.cached_room(request, room_key) if logged_in else None
    user_id = await unread_session_user_id(request, cached.id if cached is not None else None)
    user = None if user_id is not None else await provide_user(request)
    if user_id is not None and cached is not None:
        # The room's and the user's generation stamps came with the session: while they are
        # unchanged, no database read at all (meet_core.generations).
        _, room_stamp, user_stamp, _ = request_stamps(request)
        found = await service.cached_user_role_and_accesses(
            request, room_key, cached, user_id, (room_stamp, user_stamp)
        )
        if found is not None:
            fresh, user, role, rows_payload = found
            remember_user(request, user)
            return json_response(await room_payload(request, fresh, user, role, rows_payload=rows_payload))
    db_session = existing_db_session(request)  # None: every read below on autocommit connections
    room = await service.read_room(request, db_session, room_key)
    if room is None:
        if user_id is not None:
            user = await provide_user(request)
        # Only a slug names an unregistered room: a key naming an id (``<id>!`` too) is a
        # registered room or nothing, never a LiveKit room named after a registered one.
        slug = resolve_room_key(room_key)
        if not isinstance(slug, str) or not slug or not core_settings(request).allow_unregistered_rooms:
            raise not_found(ROOM_NOT_FOUND)
        return json_response(unregistered_room_payload(request, slug, user))
    if user_id is not None:
        user, role, accesses = await service.user_role_and_accesses(request, db_session, room, user_id)
        remember_user(request, user)
    elif user is not None:
        role, accesses = await service.role_and_accesses(request, db_session, room, user)
    else:
        role, accesses = None, []
    return json_response(await room_payload(request, room, user, role, accesses))


async def _update(
    request: Request[Any, Any, Any], db_session: AsyncSession, user: User, room_key: str, *, partial: bool
) -> dict[str, Any]:
    room, role = await get_room_and_role_or_404(db_session, room_key, user)
    require_privileged(role)  # updates: DRF's default message
    data = validate_room_input(await read_json_object(request), partial=partial)
    await service.update_room(request, db_session, room, data)
    accesses = await service.accesses_of(request, db_session, room, role)
    return await room_payload(request, room, user, role, accesses)


@put(
    ROOM,
    summary="Replace a room's settings",
    tags=TAGS,
    dependencies=request_body(RoomBody),
    responses=error_responses(400, 401, 403, 404, 415, 503),
)
async def update_room(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    room_key: FromPath[str],
) -> dict[str, Any]:
    """Administrators and owners; ``name`` required; a new name is a new slug."""
    return await _update(request, db_session, current_user, room_key, partial=False)


@patch(
    ROOM,
    summary="Change some of a room's settings",
    tags=TAGS,
    dependencies=request_body(RoomPatchBody),
    responses=error_responses(400, 401, 403, 404, 415, 503),
)
async def partial_update_room(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    room_key: FromPath[str],
) -> dict[str, Any]:
    """Administrators and owners; only the keys sent change."""
    return await _update(request, db_session, current_user, room_key, partial=True)


@delete(
    ROOM,
    summary="Delete a room",
    tags=TAGS,
    status_code=204,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def delete_room(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    room_key: FromPath[str],
) -> None:
    """Owners only (administrators get 403); accesses and recordings go with the room."""
    room, role = await get_room_and_role_or_404(db_session, room_key, current_user)
    await service.delete_room(request, db_session, room, role)


ROUTES = [list_rooms, create_room, retrieve_room, update_room, partial_update_room, delete_room]
