"""``POST /api/v1.0/diagnostics/connection/``: a token for a throwaway room (api.md §2.11).

Anonymous; throttled per user or IP (``CONNECTION_TEST_THROTTLE_RATES``, scope
``connection_test``), then 404 ``Not found.`` unless ``CONNECTION_TEST_ENABLED`` (the old
system's order: throttle before the flag). Each call names a new room; the token lives
``CONNECTION_TEST_TOKEN_TTL_SECONDS``, carries no role and the default sources, and keeps a
logged-in caller's identity (``sub``). The display name is "Connection Test" under the usual
display-name rule. Only POST is routed: GET is a 405.
"""

from __future__ import annotations

import datetime
from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency

from meet_core.diagnostics.rooms import new_room_name
from meet_core.http import API_PREFIX
from meet_core.http.errors import ApiError
from meet_core.http.openapi import error_responses
from meet_core.rooms.join import livekit_config
from meet_core.state import core_settings
from meet_core.throttle import client_ip, throttle
from meet_core.users.models import User

#: The display name the old system asked for (a logged-in caller may keep their own).
DISPLAY_NAME = "Connection Test"


@post(
    f"{API_PREFIX}/diagnostics/connection",
    status_code=200,
    summary="Connection test: a token for a throwaway LiveKit room",
    tags=["diagnostics"],
    responses=error_responses(403, 404, 429, 503),
)
async def connection_test(
    request: Request[Any, Any, Any], user: NamedDependency[User | None]
) -> dict[str, Any]:
    """``{"livekit": {"url", "room", "token", "expires_in"}}`` for a new ``connection-test-<uuid4>`` room."""
    core = core_settings(request)
    bucket = f"user:{user.id}" if user is not None else f"ip:{client_ip(request)}"
    await throttle(request, "connection_test", bucket, core.connection_test_throttle_rates)
    if not core.connection_test_enabled:
        raise ApiError(404, {"detail": "Not found."})
    ttl = core.connection_test_token_ttl_seconds
    livekit = livekit_config(
        request,
        room_name=new_room_name(core),
        user=user,
        role=None,
        username=DISPLAY_NAME,
        ttl=datetime.timedelta(seconds=ttl),
    )
    return {"livekit": {**livekit, "expires_in": ttl}}


ROUTES = [connection_test]
