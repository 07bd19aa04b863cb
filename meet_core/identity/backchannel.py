"""Back-channel logout: the provider tells us, server to server, that a login ended.

``POST backchannel-logout/`` (form field ``logout_token``, a JWT signed by the provider)
ends the session of that provider login (``sid``) or, without ``sid``, every session of
the user (``sub``). To find them, each login remembers its session id in Valkey under
``oidc:sid:<sid>`` and ``oidc:user-sessions:<user id>`` (a set), for the session's
lifetime. A ``jti`` is accepted once. Answers: 204, or 400 ``{"error",
"error_description"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, cast

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.response import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http import API_PREFIX
from meet_core.http.errors import ApiError
from meet_core.identity.oidc import OidcError, oidc_client
from meet_core.identity.sessions import delete_session
from meet_core.state import core_settings, valkey_client
from meet_core.users.models import User

log = logging.getLogger("meet_core.identity")


def _user_key(user_id: Any) -> str:
    return f"oidc:user-sessions:{user_id}"


def _sid_key(sid: str) -> str:
    return f"oidc:sid:{sid}"


async def remember_login(request: Request[Any, Any, Any], user: User, session_id: str, sid: Any) -> None:
    """Index a new session by user and by the provider's session id (``sid`` claim)."""
    age = core_settings(request).session_cookie_age
    valkey = valkey_client(request)
    async with valkey.pipeline(transaction=False) as pipe:
        pipe.sadd(_user_key(user.id), session_id)
        pipe.expire(_user_key(user.id), age)
        if isinstance(sid, str) and sid:
            pipe.set(_sid_key(sid), session_id, ex=age)
        await pipe.execute()


def _invalid(description: str) -> ApiError:
    return ApiError(400, {"error": "invalid_request", "error_description": description})


@post(f"{API_PREFIX}/backchannel-logout", include_in_schema=False, status_code=204)
async def backchannel_logout(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Response[None]:
    """End the sessions named by the provider's logout token (see the module docstring)."""
    token: Any = None
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        token = (await request.form()).get("logout_token")
    if not isinstance(token, str) or not token:
        raise _invalid("Missing logout_token.")
    try:
        claims = await oidc_client(request).verify_logout_token(token)
    except OidcError as exc:
        log.warning("back-channel logout refused: %s", exc)
        raise _invalid("Invalid logout token.") from exc

    valkey = valkey_client(request)
    age = core_settings(request).session_cookie_age
    jti = claims.get("jti")
    if isinstance(jti, str) and not await valkey.set(f"oidc:logout-jti:{jti}", "1", nx=True, ex=age):
        raise _invalid("Logout token already used.")

    session_ids: set[str] = set()
    sid, sub = claims.get("sid"), claims.get("sub")
    if isinstance(sid, str) and sid:
        found = await valkey.getdel(_sid_key(sid))
        if found is not None:
            session_ids.add(found.decode() if isinstance(found, bytes) else str(found))
    elif isinstance(sub, str):
        user_id = (await db_session.execute(select(User.id).where(User.sub == sub))).scalar_one_or_none()
        if user_id is not None:
            members = await cast("Awaitable[set[Any]]", valkey.smembers(_user_key(user_id)))
            session_ids.update(m.decode() if isinstance(m, bytes) else str(m) for m in members)
            await valkey.delete(_user_key(user_id))
    for session_id in session_ids:
        await delete_session(request, session_id)
    log.info("back-channel logout ended %d session(s)", len(session_ids))
    return Response(content=None, status_code=204)


ROUTES = [backchannel_logout]
