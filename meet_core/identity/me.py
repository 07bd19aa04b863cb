"""``GET users/me/`` (spec/api.md §2.2): the logged-in user.

With the identity layer rather than the users routes: it reads the session's user columns
(:func:`meet_core.identity.sessions.session_user_fields`) without dependency injection.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response.base import ASGIResponse

from meet_core.http import API_PREFIX
from meet_core.http.errors import not_authenticated
from meet_core.http.openapi import error_responses
from meet_core.http.responses import JSON_OBJECT, json_response
from meet_core.identity.sessions import session_user_fields
from meet_core.users.schemas import user_json


@get(
    f"{API_PREFIX}/users/me",
    summary="The logged-in user",
    tags=["users"],
    responses=error_responses(401, 503, extra=JSON_OBJECT),
)
async def get_me(request: Request[Any, Any, Any]) -> ASGIResponse:
    """The caller (401 with ``WWW-Authenticate: Session`` when anonymous).

    Kept lean (every page of the frontend asks): no dependency injection, no ``User`` built
    (the columns of the worker's cached row, or of the one read, are shown as they are),
    the body encoded once (:func:`json_response`).
    """
    fields = await session_user_fields(request)
    if fields is None:
        raise not_authenticated()
    return json_response(user_json(fields))


ROUTES = [get_me]
