"""JSON representations of rooms, accesses and users, shaped by who is asking (spec/api.md §2.3).

A room always carries ``id, name, slug, configuration, access_level`` (exactly the old
serializer's keys: ``is_administrable`` only on unregistered rooms, the frontend derives it from
``accesses`` on registered ones); ``pin_code`` only for callers who may join; ``accesses``
(with full users) only for its administrators and owners; ``livekit`` for callers who may
join directly (or whom a plugin's join decision lets in). Nothing here queries the database:
callers load the role and the accesses first (one query each, or one for a whole page of rooms).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from litestar import Request

from meet_core.rooms.join import CallerTokens, can_join_directly, livekit_config
from meet_core.rooms.models import PRIVILEGED_ROLES, ResourceAccess, Room
from meet_core.state import hooks
from meet_core.users.models import User
from meet_core.users.schemas import UserLike, user_json


class AccessLike(Protocol):
    """What the serializers read of an access: a ``ResourceAccess`` or an :class:`AccessView`."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def resource_id(self) -> uuid.UUID: ...
    @property
    def role(self) -> str: ...


class AccessView(NamedTuple):
    """An access read as a row (no ORM instance: the room's accesses are read on every retrieve)."""

    id: uuid.UUID
    user_id: uuid.UUID
    resource_id: uuid.UUID
    role: str


def access_payload(access: ResourceAccess) -> dict[str, Any]:
    """An access as the resource-accesses endpoints show it: the user by id."""
    return {
        "id": str(access.id),
        "user": str(access.user_id),
        "resource": str(access.resource_id),
        "role": access.role,
    }


def nested_access_payload(access: AccessLike, user: UserLike) -> dict[str, Any]:
    """An access inside a room's ``accesses``: the user in full."""
    return {
        "id": str(access.id),
        "user": user_json(user),
        "resource": str(access.resource_id),
        "role": access.role,
    }


def room_rows_payload(
    room: Room, role: str | None, accesses: Sequence[tuple[AccessLike, UserLike]] = ()
) -> dict[str, Any]:
    """What a room's payload owes to rows alone (the room, the caller's role, the accesses).

    The part the logged-in caches keep under generation stamps: :func:`room_payload` adds
    the plugins' fields and the token per request. ``accesses`` must be given when ``role``
    is privileged. Read it, never change it (:func:`room_payload` copies it).
    """
    payload: dict[str, Any] = {
        "id": str(room.id),
        "name": room.name,
        "slug": room.slug,
        "configuration": room.configuration or {},
        "access_level": room.access_level,
        "pin_code": room.pin_code,
    }
    if role in PRIVILEGED_ROLES:
        payload["accesses"] = [nested_access_payload(access, member) for access, member in accesses]
    return payload


async def room_payload(
    request: Request[Any, Any, Any],
    room: Room,
    user: User | None,
    role: str | None,
    accesses: Sequence[tuple[AccessLike, UserLike]] = (),
    rows_payload: dict[str, Any] | None = None,
    tokens: CallerTokens | None = None,
) -> dict[str, Any]:
    """The room for this caller; ``accesses`` must be given when ``role`` is privileged.

    ``rows_payload``: the room's :func:`room_rows_payload`, when the caller cached it;
    ``tokens``: the caller's :class:`CallerTokens` when it asks for several rooms.
    """
    payload = dict(rows_payload) if rows_payload is not None else room_rows_payload(room, role, accesses)
    configuration = payload["configuration"]
    meet_hooks = hooks(request)
    extra = await meet_hooks.room_extra_fields(request, room, user, role)
    if extra:  # the plugins' fields come before ``accesses``, which they cannot replace
        members = payload.pop("accesses", None)
        payload.update(extra)
        if members is not None:
            payload["accesses"] = members

    if tokens is None:
        tokens = CallerTokens(request, user, request.query_params.get("username"))
    if can_join_directly(room.access_level, user, role):
        payload["livekit"] = tokens.livekit(str(room.id), role, configuration)
    else:
        decision = await meet_hooks.room_join_decision(request, room, user, role)
        if decision is not None:
            payload["livekit"] = tokens.livekit(
                str(room.id), role, configuration, decision.participant_id, decision.color
            )
        else:
            payload.pop("pin_code", None)
    return payload


def unregistered_room_payload(
    request: Request[Any, Any, Any], slug: str, user: User | None
) -> dict[str, Any]:
    """An unknown room when ``ALLOW_UNREGISTERED_ROOMS``: LiveKit room named by the slug, no role."""
    return {
        "id": None,
        "slug": slug,
        "is_administrable": False,
        "access_level": "public",
        "livekit": livekit_config(
            request, room_name=slug, user=user, role=None, username=request.query_params.get("username")
        ),
    }
