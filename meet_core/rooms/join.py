"""Who may join a room directly, and the ``livekit`` object ``{url, room, token}`` they get.

Shared by every path that hands out a token (room retrieve, unregistered rooms, the lobby
plugin), so the token rules live in one place (spec/services.md §1).
"""

from __future__ import annotations

import datetime
import uuid
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


class CallerTokens:
    """The ``livekit`` objects of one caller in one request: identity, name and colour worked
    out once, whatever the number of rooms (a page of the room list asks for 20)."""

    def __init__(self, request: Request[Any, Any, Any], user: User | None, username: str | None) -> None:
        core = core_settings(request)
        self._core = core
        self._hooks = hooks(request)
        self._user = user
        self._identity = str(user.sub) if user is not None and user.sub else None
        self._name = display_name(
            user_full_name=user.full_name if user else None,
            user_email=user.email if user else None,
            user_admin_email=user.admin_email if user else None,
            user_id=str(user.id) if user else None,
            requested=username,
            is_authenticated=user is not None,
            can_edit=core.authenticated_participants_can_edit_display_name,
        )
        self._color = generate_color(self._identity) if self._identity is not None else None

    def livekit(
        self,
        room_name: str,
        role: str | None,
        configuration: Mapping[str, Any] | None = None,
        participant_id: str | None = None,
        color: str | None = None,
        ttl: datetime.timedelta | None = None,
    ) -> dict[str, str]:
        """``{"url", "room", "token"}`` for ``room_name`` (see :func:`livekit_config`)."""
        core, user, meet_hooks = self._core, self._user, self._hooks
        identity = self._identity or participant_id or str(uuid.uuid4())
        token = mint_token(
            api_key=core.livekit_api_key,
            api_secret=core.livekit_api_secret,
            room_name=room_name,
            identity=identity,
            name=self._name,
            role=role,
            is_authenticated=user is not None,
            sources=resolve_sources(role, configuration, core.livekit_default_sources),
            color=color or self._color_of(identity),
            extra_attributes=meet_hooks.token_attributes(room_name, identity, user, role) or None,
            grants_hook=meet_hooks.token_grants_hook(room_name, user, role),
            ttl=ttl,
        )
        return {"url": core.livekit_api_url, "room": room_name, "token": token}

    def _color_of(self, identity: str) -> str:
        if self._color is not None and identity == self._identity:
            return self._color
        return generate_color(identity)


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
    tokens = CallerTokens(request, user, username)
    return tokens.livekit(room_name, role, configuration, participant_id, color, ttl)
