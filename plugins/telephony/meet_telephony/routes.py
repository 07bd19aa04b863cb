"""``POST /api/v1.0/roomkit/join/``: a meeting-room device asks to be let in by a room's PIN.

Roomkit (the devices' server) calls it server to server before dialing the room's PIN, so
that the room's SIP dispatch rule exists even when nobody started the meeting yet
(api.md §2.12, services.md §4.4). Order of checks: bearer (401) -> throttle (429, one bucket
shared by every caller) -> ``ROOMKIT_ENABLED`` (404) -> body (400) -> PIN lookup (404) ->
LiveKit (502). Idempotent: the rule is created once.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import (
    API_PREFIX,
    ApiError,
    FieldErrors,
    Throttle,
    count_hit,
    error_responses,
    livekit_api,
    read_json_object,
    request_body,
)
from meet_core.api import settings as app_settings
from meet_telephony.pins import room_for_pin
from meet_telephony.settings import PLUGIN_NAME, TelephonySettings
from meet_telephony.sip import SipError, ensure_rule

log = logging.getLogger("meet_telephony")

_CHALLENGE = {"WWW-Authenticate": "Bearer realm='Roomkit server to server'"}
NOT_CONFIGURED = "Server-to-server token is not configured."
MISSING_HEADER = "Authorization header is missing."
INVALID_HEADER = "Invalid authorization header."
INVALID_TOKEN = "Invalid server-to-server token."
NO_ROOM = "No room found for this PIN code."
RULE_FAILED = "Could not create dispatch rule."


def telephony_settings(request: Request[Any, Any, Any]) -> TelephonySettings:
    return app_settings(request).section(PLUGIN_NAME, TelephonySettings)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, {"detail": message}, dict(_CHALLENGE))


def check_bearer(request: Request[Any, Any, Any], expected: str | None) -> None:
    """``Authorization: Bearer <token>``, exactly (two parts, case-sensitive scheme), compared in
    constant time; 401 with one of four messages otherwise."""
    if not expected:
        raise _unauthorized(NOT_CONFIGURED)
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized(MISSING_HEADER)
    parts = header.split(" ")
    if len(parts) != 2 or parts[0] != "Bearer":
        raise _unauthorized(INVALID_HEADER)
    if not hmac.compare_digest(parts[1].encode(), expected.encode()):
        raise _unauthorized(INVALID_TOKEN)


def _pin_from(body: dict[str, Any], length: int) -> str:
    """The body's ``pin_code`` (DRF CharField rules: numbers read as text), right length only."""
    value = body.get("pin_code")
    if value is None:
        message = "This field is required." if "pin_code" not in body else "This field may not be null."
        raise FieldErrors({"pin_code": [message]})
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldErrors({"pin_code": ["Not a valid string."]})
    pin = str(value).strip()
    if not pin:
        raise FieldErrors({"pin_code": ["This field may not be blank."]})
    if len(pin) != length:
        raise FieldErrors({"pin_code": ["PIN code length is invalid."]})
    return pin


class JoinBody(msgspec.Struct, kw_only=True):
    """The documented body of ``roomkit/join`` (checked by :func:`_pin_from`, numbers accepted)."""

    pin_code: str


class JoinAnswer(msgspec.Struct, kw_only=True):
    status: str


@post(
    f"{API_PREFIX}/roomkit/join",
    status_code=200,
    tags=["telephony"],
    dependencies=request_body(JoinBody),
    responses=error_responses(400, 401, 404, 413, 415, 429, 502),
    summary="Let a meeting-room device join a room by its PIN (ensure the SIP dispatch rule)",
)
async def roomkit_join(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> JoinAnswer:
    """Make sure the room of ``pin_code`` has its dispatch rule; 200 ``{"status": "success"}``."""
    config = telephony_settings(request)
    check_bearer(request, config.roomkit_server_to_server_api_token)
    await count_hit(request, Throttle("roomkit_join", "all", config.roomkit_join_throttle_rates))
    if not config.roomkit_enabled:
        raise ApiError(404, {"detail": "Not found."})
    pin = _pin_from(await read_json_object(request), config.room_telephony_pin_length)
    room_id = await room_for_pin(db_session, pin)
    if room_id is None:
        raise ApiError(404, {"detail": NO_ROOM})
    try:
        await ensure_rule(livekit_api(request), room_id, pin, config.trunk_ids)
    except SipError as exc:
        log.warning("roomkit join: %s", exc)
        raise ApiError(502, {"detail": RULE_FAILED}) from exc
    return JoinAnswer(status="success")


ROUTES = [roomkit_join]
