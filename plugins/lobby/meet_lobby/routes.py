"""The lobby's three endpoints (spec/api.md §2.4, spec/services.md §2).

* ``POST rooms/{id}/request-entry/``: anyone; queue, poll, or get the LiveKit config.
* ``POST rooms/{id}/enter/``: room administrators; admit or refuse a waiting participant.
* ``GET rooms/{id}/waiting-participants/``: room administrators; who is waiting.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response.base import ASGIResponse
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import (
    API_PREFIX,
    JSON_OBJECT,
    NON_BLANK,
    ROOM_NOT_FOUND,
    AccessLevel,
    ApiError,
    Detail,
    FieldErrors,
    Message,
    Throttle,
    User,
    can_join_directly,
    client_ip,
    cookie,
    count_hit,
    error_responses,
    generate_color,
    get_room_and_role_or_404,
    header,
    json_response,
    livekit_config,
    livekit_room_name,
    not_found,
    parse_uuid,
    privileged_room,
    provide_user,
    read_json_object,
    read_privileged_room,
    read_room,
    request_body,
    request_db_session,
)
from meet_core.api import settings as app_settings
from meet_lobby.service import Entry, LobbyService
from meet_lobby.settings import LobbySettings

PLUGIN_NAME = "lobby"


USERNAME_MAX_LENGTH = 255
_STATE_ATTRIBUTE = "meet_lobby"

_TRUE = {"t", "y", "yes", "true", "on", "1"}
_FALSE = {"f", "n", "no", "false", "off", "0"}


def lobby_settings(request: Request[Any, Any, Any]) -> LobbySettings:
    return app_settings(request).section(PLUGIN_NAME, LobbySettings)


def lobby_service(holder: Any) -> LobbyService:
    """The application's lobby service (created by the plugin's lifespan)."""
    app = getattr(holder, "app", holder)
    service: LobbyService = getattr(app.state, _STATE_ATTRIBUTE)
    return service


def set_lobby_service(app: Any, service: LobbyService | None) -> None:
    setattr(app.state, _STATE_ATTRIBUTE, service)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def cookie_participant_id(request: Request[Any, Any, Any], cookie_name: str) -> str | None:
    """The participant id of the lobby cookie, canonical; None when absent or not a UUID."""
    raw = cookie(request, cookie_name)
    if not raw or len(raw) > 64:
        return None
    if _CANONICAL_UUID.fullmatch(raw):  # as the server sets it: no need to parse
        return raw
    parsed = parse_uuid(raw)
    return str(parsed) if parsed is not None else None


def is_https(request: Request[Any, Any, Any]) -> bool:
    """Served over HTTPS, directly or behind a proxy that says so."""
    if request.scope["scheme"] == "https":
        return True
    forwarded = header(request, b"x-forwarded-proto") or ""
    return forwarded.split(",")[0].strip().lower() == "https"


_SAMPLE_PID = "00000000-0000-4000-8000-000000000000"


@functools.cache
def _cookie_template(name: str, secure: bool) -> tuple[str, str]:
    """The text around the value of the lobby cookie, as Litestar's ``Cookie`` writes it."""
    cookie = Cookie(key=name, value=_SAMPLE_PID, path="/", httponly=True, samesite="lax", secure=secure)
    before, _, after = cookie.to_header(header="").strip().partition(_SAMPLE_PID)
    return before, after


def participant_cookie(name: str, pid: str, *, secure: bool) -> str:
    """``Set-Cookie`` value of the lobby id: HttpOnly, SameSite=Lax, Secure only over HTTPS.

    Litestar formats it once per name (through ``http.cookies``, slow on every poll); a
    participant id is a canonical UUID, which never needs quoting, so it is put in place.
    """
    before, after = _cookie_template(name, secure)
    return f"{before}{pid}{after}"


# ------------------------------------------------------------------------------ body fields


class RequestEntryBody(msgspec.Struct, kw_only=True):
    """The documented body of ``request-entry`` (checked by :func:`_username`)."""

    username: Annotated[str, msgspec.Meta(max_length=USERNAME_MAX_LENGTH, pattern=NON_BLANK)]


class DecisionBody(msgspec.Struct, kw_only=True):
    """The documented body of ``enter`` (checked by :func:`_decision`)."""

    participant_id: uuid.UUID
    allow_entry: bool


def _username(body: dict[str, Any]) -> str:
    """DRF ``CharField``: required, not null, a string or number, trimmed, not blank."""
    if "username" not in body:
        raise FieldErrors({"username": ["This field is required."]})
    value = body["username"]
    if value is None:
        raise FieldErrors({"username": ["This field may not be null."]})
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldErrors({"username": ["Not a valid string."]})
    text = str(value).strip()
    if not text:
        raise FieldErrors({"username": ["This field may not be blank."]})
    if len(text) > USERNAME_MAX_LENGTH:
        raise FieldErrors(
            {"username": [f"Ensure this field has no more than {USERNAME_MAX_LENGTH} characters."]}
        )
    return text


def _decision(body: dict[str, Any]) -> tuple[str, bool]:
    """``participant_id`` (UUID, canonicalised) and ``allow_entry`` (DRF boolean); all errors at once."""
    errors: dict[str, list[str]] = {}
    pid: str | None = None
    allow: bool | None = None
    if "participant_id" not in body:
        errors["participant_id"] = ["This field is required."]
    elif body["participant_id"] is None:
        errors["participant_id"] = ["This field may not be null."]
    else:
        raw = body["participant_id"]
        parsed = parse_uuid(raw) if isinstance(raw, str) else None
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 1 << 128:
            parsed = uuid.UUID(int=raw)  # DRF's UUIDField takes integers too
        if parsed is None:
            errors["participant_id"] = ["Must be a valid UUID."]
        else:
            pid = str(parsed)
    if "allow_entry" not in body:
        errors["allow_entry"] = ["This field is required."]
    elif body["allow_entry"] is None:
        errors["allow_entry"] = ["This field may not be null."]
    else:
        raw = body["allow_entry"]
        if isinstance(raw, bool):
            allow = raw
        elif isinstance(raw, int | str) and str(raw).lower() in _TRUE | _FALSE:
            allow = str(raw).lower() in _TRUE
        else:
            errors["allow_entry"] = ["Must be a valid boolean."]
    if errors or pid is None or allow is None:
        raise FieldErrors(errors)
    return pid, allow


def _throttles(
    request: Request[Any, Any, Any], config: LobbySettings, user: User | None, cookie_pid: str | None
) -> tuple[Throttle, ...]:
    """The hits a request-entry call counts: per user, else per lobby id and per address.

    Without a cookie the caller is counted by address (the old system did not count it at
    all). An anonymous caller also counts against the per-address ceiling
    ``REQUEST_ENTRY_ADDRESS_THROTTLE_RATES``: a new cookie per request gets a new lobby id,
    not unlimited requests.
    """
    if user is not None:
        return (Throttle("request_entry", f"user:{user.id}", config.request_entry_throttle_rates),)
    address = client_ip(request)
    ceiling = Throttle("request_entry_address", address, config.request_entry_address_throttle_rates)
    bucket = f"pid:{cookie_pid}" if cookie_pid is not None else f"ip:{address}"
    return (Throttle("request_entry", bucket, config.request_entry_throttle_rates), ceiling)


# ---------------------------------------------------------------------------------- handlers


@post(
    f"{API_PREFIX}/rooms/{{room_key:str}}/request-entry",
    status_code=200,
    tags=["lobby"],
    dependencies=request_body(RequestEntryBody),
    responses=error_responses(400, 403, 404, 415, 429, 503, extra=JSON_OBJECT),
)
async def request_entry(request: Request[Any, Any, Any], room_key: FromPath[str]) -> ASGIResponse:
    """Ask to enter a room, or poll (every second) until an administrator decides.

    Answers ``{id, username, status, color, livekit}``; ``livekit`` is null until accepted.
    An anonymous poll, the bulk of the load, opens no database session (``provide_user``
    called directly), reads the room from the core's per-worker cache (``ROOM_CACHE_TTL``)
    and makes one Valkey round trip; the body is encoded once (``json_response``).
    """
    user = await provide_user(request)
    config = lobby_settings(request)
    service = lobby_service(request)
    cookie_pid = cookie_participant_id(request, config.lobby_cookie_name)
    hits = _throttles(request, config, user, cookie_pid)

    role: str | None = None
    try:
        username = _username(await read_json_object(request))
        if user is None:  # the core's cached room: read only
            found = await read_room(request, None, room_key)
            if found is None:
                raise not_found(ROOM_NOT_FOUND)
            room = found
        else:
            room, role = await get_room_and_role_or_404(request_db_session(request), room_key, user)
    except ApiError:
        await count_hit(request, *hits)  # a refused request counts too, and 429 comes first
        raise
    pid = cookie_pid or str(uuid.uuid4())
    room_name = livekit_room_name(room)
    background: BackgroundTask | None = None

    if can_join_directly(room.access_level, user, role):  # recomputed on every call, never stored
        await count_hit(request, *hits)
        stored = await service.get(room_name, pid) if cookie_pid else None
        entry = Entry(
            id=pid,
            username=stored.username if stored else username,
            status="accepted",
            color=stored.color if stored else generate_color(pid),
        )
    else:  # the poll counts the hit itself: one Valkey round trip
        created, entry = await service.poll(room_name, pid, username, generate_color(pid), hits)
        if created:
            background = BackgroundTask(service.notify_waiting, room_name)

    livekit = None
    if entry.status == "accepted":
        livekit = livekit_config(
            request,
            room_name=room_name,
            user=user,
            role=role,
            username=username,
            configuration=room.configuration,
            participant_id=pid,
            color=entry.color,
        )
    content = {
        "id": entry.id,
        "username": entry.username,
        "status": entry.status,
        "color": entry.color,
        "livekit": livekit,
    }
    set_cookie = participant_cookie(config.lobby_cookie_name, pid, secure=is_https(request))
    return json_response(content, headers={"set-cookie": set_cookie}, background=background)


@post(
    f"{API_PREFIX}/rooms/{{room_key:str}}/enter",
    status_code=200,
    tags=["lobby"],
    dependencies=request_body(DecisionBody),
    responses=error_responses(400, 401, 403, 404, 415, 503, shapes={404: Detail | Message}),
)
async def enter(
    request: Request[Any, Any, Any],
    room_key: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> dict[str, str]:
    """Admit (``allow_entry: true``) or refuse a participant of the lobby."""
    pid, allow = _decision(await read_json_object(request))
    room = await privileged_room(db_session, room_key, current_user)
    if room.access_level == AccessLevel.PUBLIC.value:
        raise ApiError(404, {"message": "Room has no lobby system."})
    if not await lobby_service(request).decide(str(room.id), pid, allow):
        raise ApiError(404, {"message": "Participant not found."})
    return {"message": "Participant was updated."}


@get(
    f"{API_PREFIX}/rooms/{{room_key:str}}/waiting-participants",
    tags=["lobby"],
    responses=error_responses(400, 401, 403, 404, 503),
)
async def waiting_participants(
    request: Request[Any, Any, Any], room_key: FromPath[str]
) -> dict[str, list[dict[str, str]]]:
    """The participants waiting in the lobby, in arrival order (public rooms have no lobby).

    The administrator's page polls it every second: the privilege check is one database
    statement, kept in the worker's room cache (``read_privileged_room``), the list one
    Valkey script.
    """
    room = await read_privileged_room(request, room_key)
    if room.access_level == AccessLevel.PUBLIC.value:
        return {"participants": []}
    entries = await lobby_service(request).waiting(str(room.id))
    return {
        "participants": [
            {"status": e.status, "username": e.username, "id": e.id, "color": e.color} for e in entries
        ]
    }


ROUTES = [request_entry, enter, waiting_participants]
