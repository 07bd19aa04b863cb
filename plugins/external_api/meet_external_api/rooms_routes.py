"""``/external-api/v1.0/rooms/``: list, create and retrieve a delegated user's rooms (services.md §8.5).

Order of checks, as the old views: authentication (401) -> scope of the action (403) ->
lookup (404) -> role on the room (403) -> body (400). PUT, PATCH and DELETE exist only to
answer 405 once the caller is authenticated (401 comes first, spec/api.md §0.6).
Rooms are created by the core's ``create_room`` (its slug rules and ``meet_room_created``
hooks) with a forced random name and without the user's preferences.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from litestar import Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import (
    ApiError,
    FieldErrors,
    ResourceAccess,
    Room,
    User,
    create_room,
    envelope,
    error_responses,
    hooks,
    not_found,
    parse_uuid,
    permission_denied,
    read_json_object,
    resolve_page,
    validate_room_input,
)
from meet_core.api import settings as app_settings
from meet_external_api.auth import authenticate, require_scope
from meet_external_api.settings import ExternalApiSettings
from meet_external_api.token_route import EXTERNAL_PREFIX, external_settings

ROOMS = f"{EXTERNAL_PREFIX}/rooms"
NO_ROOM = "No Room matches the given query."
PUBLIC_REFUSED = "Public rooms are disabled for the external API."
#: Tries at a random name before giving up (26**10 names: a second try is already rare).
NAME_TRIES = 5


def random_room_name() -> str:
    """``xxx-xxxx-xxx`` in lower-case ASCII letters, drawn with ``secrets``."""
    return "-".join("".join(secrets.choice(string.ascii_lowercase) for _ in range(n)) for n in (3, 4, 3))


async def _telephony(
    request: Request[Any, Any, Any], room: Room, user: User, role: str | None
) -> dict[str, Any] | None:
    """The ``telephony`` object when the telephony plugin is enabled (its PIN through its hook)."""
    section = app_settings(request).sections.get("telephony")
    if section is None:
        return None
    extra: dict[str, Any] = {}
    for fields in await hooks(request).call_all(
        "meet_room_extra_fields", request=request, room=room, user=user, role=role
    ):
        extra.update(fields or {})
    return {
        "enabled": True,
        "phone_number": getattr(section, "room_telephony_phone_number", None),
        "pin_code": extra.get("pin_code"),
        "default_country": getattr(section, "room_telephony_default_country", None),
    }


async def represent(
    request: Request[Any, Any, Any], config: ExternalApiSettings, room: Room, user: User, role: str | None
) -> dict[str, Any]:
    """``id, name, slug, access_level, configuration`` (+ ``url``, ``telephony`` when configured)."""
    body: dict[str, Any] = {
        "id": str(room.id),
        "name": room.name,
        "slug": room.slug,
        "access_level": room.access_level,
        "configuration": room.configuration or {},
    }
    if config.application_base_url:
        body["url"] = f"{config.application_base_url}/{room.slug}"
    telephony = await _telephony(request, room, user, role)
    if telephony is not None:
        body["telephony"] = telephony
    return body


def _of_user(user: User) -> Any:
    return ResourceAccess.user_id == user.id


@get(
    ROOMS,
    tags=["external-api"],
    summary="The delegated user's rooms",
    responses=error_responses(401, 403, 404),
)
async def list_rooms(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> dict[str, Any]:
    config = external_settings(request)
    caller = await authenticate(request, db_session, config)
    require_scope(caller, "rooms:list")
    # One access per user and room (a unique constraint): no duplicates to remove.
    count = await db_session.scalar(select(func.count(ResourceAccess.id)).where(_of_user(caller.user)))
    page = resolve_page(request, count or 0, custom=False)
    rows = await db_session.execute(
        select(Room, ResourceAccess.role)
        .join(ResourceAccess, ResourceAccess.resource_id == Room.id)
        .where(_of_user(caller.user))
        .order_by(Room.name, Room.id)
        .offset(page.offset)
        .limit(page.size)
    )
    results = [await represent(request, config, room, caller.user, role) for room, role in rows.tuples()]
    return envelope(request, page, count or 0, results)


@post(
    ROOMS,
    status_code=201,
    tags=["external-api"],
    summary="Create a room owned by the delegated user",
    responses=error_responses(400, 401, 403),
)
async def create_external_room(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> dict[str, Any]:
    config = external_settings(request)
    caller = await authenticate(request, db_session, config)
    require_scope(caller, "rooms:create")
    body = await read_json_object(request)
    wanted: dict[str, Any] = {key: body[key] for key in ("access_level", "configuration") if key in body}
    data = validate_room_input({"name": random_room_name(), **wanted}, partial=False)
    if not isinstance(data.access_level, str):
        data.access_level = config.external_api_default_access_level
    if data.access_level == "public" and not config.public_allowed:
        raise FieldErrors({"access_level": [PUBLIC_REFUSED]})
    if not isinstance(data.configuration, dict):
        data.configuration = {}
    for attempt in range(NAME_TRIES):
        try:
            room = await create_room(request, db_session, caller.user, data, user_defaults=False)
            break
        except FieldErrors as exc:
            if attempt == NAME_TRIES - 1 or "slug" not in exc.body:
                raise
            data.name = random_room_name()
    return await represent(request, config, room, caller.user, "owner")


@get(
    f"{ROOMS}/{{room_id:str}}",
    tags=["external-api"],
    summary="One of the delegated user's rooms",
    responses=error_responses(401, 403, 404),
)
async def retrieve_room(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_id: FromPath[str]
) -> dict[str, Any]:
    config = external_settings(request)
    caller = await authenticate(request, db_session, config)
    require_scope(caller, "rooms:retrieve")
    key = parse_uuid(room_id)
    if key is None:
        raise not_found()
    room = await db_session.get(Room, key)
    if room is None:
        raise not_found(NO_ROOM)
    role = await db_session.scalar(
        select(ResourceAccess.role)
        .where(ResourceAccess.resource_id == room.id, _of_user(caller.user))
        .limit(1)
    )
    if role is None:
        raise permission_denied()
    return await represent(request, config, room, caller.user, role)


async def _not_allowed(request: Request[Any, Any, Any], db_session: AsyncSession, allow: str) -> None:
    await authenticate(request, db_session, external_settings(request))
    raise ApiError(405, {"detail": f'Method "{request.method}" not allowed.'}, {"Allow": allow})


@put(ROOMS, include_in_schema=False)
async def rooms_put(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> None:
    await _not_allowed(request, db_session, "GET, POST, HEAD, OPTIONS")


@patch(ROOMS, include_in_schema=False)
async def rooms_patch(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> None:
    await _not_allowed(request, db_session, "GET, POST, HEAD, OPTIONS")


@delete(ROOMS, status_code=405, include_in_schema=False)
async def rooms_delete(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> None:
    await _not_allowed(request, db_session, "GET, POST, HEAD, OPTIONS")


@put(f"{ROOMS}/{{room_id:str}}", include_in_schema=False)
async def room_put(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_id: FromPath[str]
) -> None:
    await _not_allowed(request, db_session, "GET, HEAD, OPTIONS")


@patch(f"{ROOMS}/{{room_id:str}}", include_in_schema=False)
async def room_patch(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_id: FromPath[str]
) -> None:
    await _not_allowed(request, db_session, "GET, HEAD, OPTIONS")


@delete(f"{ROOMS}/{{room_id:str}}", status_code=405, include_in_schema=False)
async def room_delete(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_id: FromPath[str]
) -> None:
    await _not_allowed(request, db_session, "GET, HEAD, OPTIONS")


ROUTES = [
    list_rooms,
    create_external_room,
    retrieve_room,
    rooms_put,
    rooms_patch,
    rooms_delete,
    room_put,
    room_patch,
    room_delete,
]
