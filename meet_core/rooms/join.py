"""Who may join a room directly, and the ``livekit`` object ``{url, room, token}`` they get.

Shared by every path that hands out a token (room retrieve, unregistered rooms, the lobby
plugin), so the token rules live in one place (spec/services.md §1).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from litestar import Request

from meet_core.livekit.color import generate_color
from meet_core.livekit.tokens import display_name, mint_token, resolve_sources
from meet_core.rooms.models import AccessLevel
from meet_core.state import core_settings, hooks
from meet_core.users.models import User


def can_join_directly(access_level: str, user: User | None, role: str | None) -> bool:
    """Public room; trusted room and authenticated; or any role (spec/services.md §1.4)."""
    return (
        access_level == AccessLevel.PUBLIC.value
        or (access_level == AccessLevel.TRUSTED.value and user is not None)
        or role is not None
    )


def livekit_config(
    request: Request[Any, Any, Any],
    *,
    room_name: str,
    user: User | None,
    role: str | None,
    username: str | None = None,
    configuration: Mapping[str, Any] | None = None,
    participant_id: str | None = None,
    color: str | None = None,
    ttl: datetime.timedelta | None = None,
) -> dict[str, str]:
    """``{"url", "room", "token"}`` for ``room_name`` (a room UUID, or a slug when unregistered).

    Identity: the user's ``sub``; for anonymous callers ``participant_id`` or a fresh UUID4.
    """
    import uuid

    core = core_settings(request)
    if user is not None and user.sub:
        identity = str(user.sub)
    else:
        identity = participant_id or str(uuid.uuid4())
    meet_hooks = hooks(request)
    token = mint_token(
        api_key=core.livekit_api_key,
        api_secret=core.livekit_api_secret,
        room_name=room_name,
        identity=identity,
        name=display_name(
            user_full_name=user.full_name if user else None,
            user_email=user.email if user else None,
            user_admin_email=user.admin_email if user else None,
            user_id=str(user.id) if user else None,
            requested=username,
            is_authenticated=user is not None,
            can_edit=core.authenticated_participants_can_edit_display_name,
        ),
        role=role,
        is_authenticated=user is not None,
        sources=resolve_sources(role, configuration, core.livekit_default_sources),
        color=color or generate_color(identity),
        extra_attributes=meet_hooks.token_attributes(room_name, identity, user, role) or None,
        grants_hook=meet_hooks.token_grants_hook(room_name, user, role),
        ttl=ttl,
    )
    return {"url": core.livekit_api_url, "room": room_name, "token": token}
