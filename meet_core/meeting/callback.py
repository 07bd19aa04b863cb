"""``POST /api/v1.0/rooms/creation-callback/`` (spec/services.md §9.1).

The frontend that asked for a room with a ``callback_id`` (e.g. from another window) reads
the new room's slug here once; the entry is deleted by the read. Anonymous callers are
throttled by IP (``CREATION_CALLBACK_THROTTLE_RATES``, scope ``creation_callback``);
logged-in users are not, as in the old system.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency

from meet_core.http import API_PREFIX
from meet_core.http.body import read_json_object
from meet_core.http.errors import FieldErrors
from meet_core.http.openapi import error_responses, request_body
from meet_core.meeting.bodies import CreationCallbackBody
from meet_core.meeting.fields import check_string
from meet_core.rooms import creation_callback
from meet_core.state import core_settings
from meet_core.throttle import client_ip, throttle
from meet_core.users.models import User


@post(
    f"{API_PREFIX}/rooms/creation-callback",
    status_code=200,
    summary="Room-creation callback",
    tags=["rooms"],
    dependencies=request_body(CreationCallbackBody),
    responses=error_responses(400, 403, 415, 429, 503),
)
async def room_creation_callback(
    request: Request[Any, Any, Any], user: NamedDependency[User | None]
) -> dict[str, Any]:
    """The room created with this ``callback_id`` (``{"slug": ...}``), or ``{}``; read once."""
    if user is None:
        rate = core_settings(request).creation_callback_throttle_rates
        await throttle(request, "creation_callback", client_ip(request), rate)
    data = await read_json_object(request)
    errors: dict[str, Any] = {}
    callback_id = check_string(data, "callback_id", errors)
    if errors:
        raise FieldErrors(errors)
    return {"status": "success", "room": await creation_callback.pop(request, callback_id)}


ROUTES = [room_creation_callback]
