"""``/api/v1.0/resource-accesses/``: who has which role in a room (spec/api.md §2.8, §3.3).

Ownership invariants: only owners grant ``owner``; nobody but its holder edits or deletes an
owner's access; a room always keeps at least one owner. Checks run in DRF's order: lookup
(404), object permission (403), body fields (400, except that a room the caller does not
administer is a 403 as soon as it is read), uniqueness (400), owner rules (403).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http import API_PREFIX, pagination
from meet_core.http.body import read_json_object
from meet_core.http.errors import FieldErrors, not_found, permission_denied
from meet_core.http.openapi import error_responses, request_body
from meet_core.rooms.lookup import get_role, parse_uuid
from meet_core.rooms.models import PRIVILEGED_ROLES, ResourceAccess, Role, Room
from meet_core.rooms.schemas import NOT_NULL, REQUIRED, choice_field
from meet_core.rooms.serializers import access_payload
from meet_core.rooms.service import forget_room
from meet_core.users.models import User

ACCESSES = f"{API_PREFIX}/resource-accesses"
ACCESS = f"{ACCESSES}/{{access_id:str}}"
TAGS = ["resource-accesses"]

ROLES = tuple(role.value for role in Role)
NOT_ADMIN = "You must be administrator or owner of a room to add accesses to it."
ONLY_OWNERS = "Only owners of a room can assign other users as owners."
KEEP_AN_OWNER = "A resource should keep at least one owner."
NOT_UNIQUE = "The fields user, resource must make a unique set."


class AccessPatchBody(msgspec.Struct, kw_only=True):
    """The documented body of ``PATCH resource-accesses/{id}/``: only ``role`` changes."""

    user: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    resource: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET


class AccessBody(AccessPatchBody, kw_only=True):
    """The documented body of ``POST`` and ``PUT resource-accesses/``; ``role`` defaults to member."""

    user: uuid.UUID
    resource: uuid.UUID


async def _related(
    db_session: AsyncSession, model: type[User] | type[Room], value: Any
) -> tuple[Any, str | None]:
    """DRF's ``PrimaryKeyRelatedField``: the row, or the field's error message."""
    if value is None:
        return None, NOT_NULL
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None, f"Incorrect type. Expected pk value, received {_type_name(value)}."
    try:
        key = uuid.UUID(int=value) if isinstance(value, int) else uuid.UUID(value)
    except ValueError:
        return None, f"“{value}” is not a valid UUID."
    row = await db_session.get(model, key)
    if row is None:
        return None, f'Invalid pk "{value}" - object does not exist.'
    return row, None


def _type_name(value: Any) -> str:
    return {dict: "dict", list: "list", float: "float", bool: "bool"}.get(type(value), type(value).__name__)


async def _owner_count(db_session: AsyncSession, room_id: uuid.UUID) -> int:
    count = await db_session.scalar(
        select(func.count(ResourceAccess.id)).where(
            ResourceAccess.resource_id == room_id, ResourceAccess.role == Role.OWNER.value
        )
    )
    return count or 0


async def _role_in(db_session: AsyncSession, room_id: uuid.UUID, user: User) -> str | None:
    """The caller's role in a room (one access per user and room)."""
    role: str | None = await db_session.scalar(
        select(ResourceAccess.role).where(
            ResourceAccess.resource_id == room_id, ResourceAccess.user_id == user.id
        )
    )
    return role


async def _get_access_or_404(db_session: AsyncSession, access_id: str) -> ResourceAccess:
    key = parse_uuid(access_id)
    if key is None:
        raise not_found()
    access = await db_session.get(ResourceAccess, key)
    if access is None:
        raise not_found("No ResourceAccess matches the given query.")
    return access


async def _validate_body(
    db_session: AsyncSession, caller: User, body: dict[str, Any], *, partial: bool
) -> tuple[User | None, Room | None, str | None]:
    """The body's user, room and role (each None when absent); field errors raised together."""
    errors: dict[str, list[str]] = {}
    target: User | None = None
    room: Room | None = None
    role: str | None = None
    if "user" in body:
        target, error = await _related(db_session, User, body["user"])
        if error:
            errors["user"] = [error]
    elif not partial:
        errors["user"] = [REQUIRED]
    if "resource" in body:
        room, error = await _related(db_session, Room, body["resource"])
        if error:
            errors["resource"] = [error]
        elif room is not None and await get_role(db_session, room, caller) not in PRIVILEGED_ROLES:
            raise permission_denied(NOT_ADMIN)
    elif not partial:
        errors["resource"] = [REQUIRED]
    if "role" in body:
        role, error = choice_field(body["role"], ROLES)
        if error:
            errors["role"] = [error]
    if errors:
        raise FieldErrors(errors)
    return target, room, role


async def _taken(
    db_session: AsyncSession, user_id: uuid.UUID, room_id: uuid.UUID, exclude: uuid.UUID | None = None
) -> bool:
    query = select(ResourceAccess.id).where(
        ResourceAccess.user_id == user_id, ResourceAccess.resource_id == room_id
    )
    if exclude is not None:
        query = query.where(ResourceAccess.id != exclude)
    return await db_session.scalar(query.limit(1)) is not None


@get(
    ACCESSES,
    summary="List accesses of the rooms the caller administers",
    tags=TAGS,
    responses=error_responses(401, 404, 503),
)
async def list_accesses(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> dict[str, Any]:
    """Every access of the rooms where the caller is administrator or owner, newest first."""
    administered = select(ResourceAccess.resource_id).where(
        ResourceAccess.user_id == current_user.id, ResourceAccess.role.in_(PRIVILEGED_ROLES)
    )
    where = ResourceAccess.resource_id.in_(administered)
    count = await db_session.scalar(select(func.count(ResourceAccess.id)).where(where)) or 0
    page = pagination.resolve_page(request, count, custom=False)
    rows = await db_session.scalars(
        select(ResourceAccess)
        .where(where)
        .order_by(ResourceAccess.created_at.desc(), ResourceAccess.id)
        .offset(page.offset)
        .limit(page.size)
    )
    return pagination.envelope(request, page, count, [access_payload(access) for access in rows])


@post(
    ACCESSES,
    summary="Give a user a role in a room",
    tags=TAGS,
    status_code=201,
    dependencies=request_body(AccessBody),
    responses=error_responses(400, 401, 403, 415, 503),
)
async def create_access(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> dict[str, Any]:
    """Administrators and owners add members and administrators; only owners add owners."""
    body = await read_json_object(request)
    target, room, role = await _validate_body(db_session, current_user, body, partial=False)
    assert target is not None and room is not None
    role = role or Role.MEMBER.value
    if await _taken(db_session, target.id, room.id):
        raise FieldErrors({"non_field_errors": [NOT_UNIQUE]})
    if role == Role.OWNER.value and await get_role(db_session, room, current_user) != Role.OWNER.value:
        raise permission_denied(ONLY_OWNERS)
    access = ResourceAccess(resource_id=room.id, user_id=target.id, role=role)
    db_session.add(access)
    try:
        await db_session.flush()
    except IntegrityError as exc:
        raise FieldErrors({"non_field_errors": [NOT_UNIQUE]}) from exc
    return access_payload(access)


@get(ACCESS, summary="Retrieve an access", tags=TAGS, responses=error_responses(400, 401, 403, 404, 503))
async def retrieve_access(
    db_session: NamedDependency[AsyncSession], current_user: NamedDependency[User], access_id: FromPath[str]
) -> dict[str, Any]:
    """Administrators and owners of its room only (403 otherwise, not 404)."""
    access = await _get_access_or_404(db_session, access_id)
    if await _role_in(db_session, access.resource_id, current_user) not in PRIVILEGED_ROLES:
        raise permission_denied()
    return access_payload(access)


async def _update(
    request: Request[Any, Any, Any], db_session: AsyncSession, caller: User, access_id: str, *, partial: bool
) -> dict[str, Any]:
    access = await _get_access_or_404(db_session, access_id)
    caller_role = await _role_in(db_session, access.resource_id, caller)
    if caller_role not in PRIVILEGED_ROLES:
        raise permission_denied()
    body = await read_json_object(request)
    target, room, role = await _validate_body(db_session, caller, body, partial=partial)
    if (target is not None or room is not None) and await _taken(
        db_session,
        target.id if target else access.user_id,
        room.id if room else access.resource_id,
        exclude=access.id,
    ):
        raise FieldErrors({"non_field_errors": [NOT_UNIQUE]})
    owner = Role.OWNER.value
    if (role == owner and caller_role != owner) or (access.role == owner and access.user_id != caller.id):
        raise permission_denied(ONLY_OWNERS)
    # ``user`` and ``resource`` are validated but never changed on update.
    if role is not None and role != access.role:
        if access.role == owner and await _owner_count(db_session, access.resource_id) <= 1:
            raise permission_denied(KEEP_AN_OWNER)
        access.role = role
        await db_session.flush()
        forget_room(request, access.resource_id)  # its administrators may have changed
    return access_payload(access)


@put(
    ACCESS,
    summary="Replace an access (only its role changes)",
    tags=TAGS,
    dependencies=request_body(AccessBody),
    responses=error_responses(400, 401, 403, 404, 415, 503),
)
async def update_access(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    access_id: FromPath[str],
) -> dict[str, Any]:
    """``user`` and ``resource`` are required but kept; owners' rules apply to ``role``."""
    return await _update(request, db_session, current_user, access_id, partial=False)


@patch(
    ACCESS,
    summary="Change an access's role",
    tags=TAGS,
    dependencies=request_body(AccessPatchBody),
    responses=error_responses(400, 401, 403, 404, 415, 503),
)
async def partial_update_access(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    access_id: FromPath[str],
) -> dict[str, Any]:
    """Like PUT, with every key optional."""
    return await _update(request, db_session, current_user, access_id, partial=True)


@delete(
    ACCESS,
    summary="Remove an access",
    tags=TAGS,
    status_code=204,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def delete_access(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    access_id: FromPath[str],
) -> None:
    """An owner's access only by that owner; others by the room's administrators and owners."""
    access = await _get_access_or_404(db_session, access_id)
    if access.role == Role.OWNER.value:
        if access.user_id != current_user.id:
            raise permission_denied()
        if await _owner_count(db_session, access.resource_id) <= 1:
            raise permission_denied(KEEP_AN_OWNER)
    elif await _role_in(db_session, access.resource_id, current_user) not in PRIVILEGED_ROLES:
        raise permission_denied()
    await db_session.delete(access)
    await db_session.flush()
    forget_room(request, access.resource_id)  # its administrators may have changed


ROUTES = [list_accesses, create_access, retrieve_access, update_access, partial_update_access, delete_access]
