"""The users API (spec/api.md §2.2): list and self update (who-am-I: ``meet_core.identity.me``).

Order of checks as in the old system: authentication (401) and CSRF (403), method (405),
object lookup (404), "self only" (403), then body validation (400/415).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, patch, put, route
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http import API_PREFIX
from meet_core.http.body import read_json_object
from meet_core.http.errors import detail, not_found, permission_denied
from meet_core.http.openapi import error_responses, request_body
from meet_core.http.options import UNROUTED
from meet_core.http.pagination import envelope, resolve_page
from meet_core.state import core_settings
from meet_core.users.models import User
from meet_core.users.schemas import UserBody, UserPatchBody, user_json, validate_update

_USERS = f"{API_PREFIX}/users"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@get(_USERS, summary="List users", tags=["users"], responses=error_responses(400, 401, 404, 503))
async def list_users(
    request: Request[Any, Any, Any],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """Empty unless ``ALLOW_UNSECURE_USER_LISTING``; ``?q=`` filters on the email; newest first."""
    query = select(User)
    if not core_settings(request).allow_unsecure_user_listing:
        query = query.where(false())
    q = (request.query_params.get("q") or "").replace("\x00", "").strip()  # PostgreSQL refuses NUL
    if q:
        query = query.where(User.email.ilike(_like_pattern(q), escape="\\"))
    count = (await db_session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    page = resolve_page(request, count, custom=False)
    rows = []
    if count:
        ordered = query.order_by(User.created_at.desc(), User.id).offset(page.offset).limit(page.size)
        rows = list((await db_session.execute(ordered)).scalars())
    return envelope(request, page, count, [user_json(user) for user in rows])


async def _get_user_or_404(db_session: AsyncSession, user_id: str) -> User:
    try:
        key = uuid.UUID(user_id)
    except ValueError:
        raise not_found() from None
    user = await db_session.get(User, key)
    if user is None:
        raise not_found("No User matches the given query.")
    return user


_UPDATE_ERRORS = error_responses(400, 401, 403, 404, 415, 503)


@put(
    f"{_USERS}/{{user_id:str}}",
    summary="Update yourself",
    tags=["users"],
    dependencies=request_body(UserBody),
    responses=_UPDATE_ERRORS,
)
async def update_user(
    request: Request[Any, Any, Any],
    user_id: FromPath[str],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """Change your own timezone, language and room defaults; other users are 403."""
    return await _update(request, user_id, current_user, db_session)


@patch(
    f"{_USERS}/{{user_id:str}}",
    summary="Update some of your settings",
    tags=["users"],
    dependencies=request_body(UserPatchBody),
    responses=_UPDATE_ERRORS,
)
async def partial_update_user(
    request: Request[Any, Any, Any],
    user_id: FromPath[str],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """Like PUT, with every key optional."""
    return await _update(request, user_id, current_user, db_session)


async def _update(
    request: Request[Any, Any, Any], user_id: str, current_user: User, db_session: AsyncSession
) -> dict[str, Any]:
    user = await _get_user_or_404(db_session, user_id)
    if user.id != current_user.id:
        raise permission_denied()
    body = await read_json_object(request)
    changes = validate_update(body, partial=request.method == "PATCH", core=core_settings(request))
    for name, value in changes.items():
        setattr(user, name, value)
    await db_session.flush()
    return user_json(user)


def _not_allowed(request: Request[Any, Any, Any], allowed: str) -> None:
    raise detail(405, f'Method "{request.method}" not allowed.', {"Allow": allowed})


@route(_USERS, http_method=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False, opt={UNROUTED: True})
async def users_not_allowed(request: Request[Any, Any, Any], current_user: NamedDependency[User]) -> None:
    """Unrouted methods: anonymous callers get 401 before 405, as in the old system."""
    _not_allowed(request, "GET, HEAD, OPTIONS")


@route(
    f"{_USERS}/{{user_id:str}}",
    http_method=["GET", "POST", "DELETE"],
    include_in_schema=False,
    opt={UNROUTED: True},
)
async def user_not_allowed(
    request: Request[Any, Any, Any], user_id: FromPath[str], current_user: NamedDependency[User]
) -> None:
    """``GET``/``DELETE users/{id}/`` were never routed: 405 after authentication."""
    _not_allowed(request, "PUT, PATCH, OPTIONS")


ROUTES = [list_users, update_user, partial_update_user, users_not_allowed, user_not_allowed]
