"""The lobby plugin: hook implementations wiring settings, routes, room access and webhooks.

It imports from ``meet_core.api`` only, as a third-party plugin would.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import valkey.exceptions
from litestar import Litestar, Request
from litestar.types import ControllerRouterHandler
from livekit.api import WebhookEvent

from meet_core.api import (
    AccessLevel,
    JoinDecision,
    Room,
    Settings,
    User,
    hookimpl,
    livekit_api,
    metrics,
    parse_uuid,
    pipelined_valkey,
    valkey_client,
)
from meet_lobby.routes import PLUGIN_NAME, ROUTES, cookie_participant_id, lobby_service, set_lobby_service
from meet_lobby.service import LobbyService
from meet_lobby.settings import LobbySettings

log = logging.getLogger("meet_lobby")

_LOBBY_LEVELS = frozenset({AccessLevel.TRUSTED.value, AccessLevel.RESTRICTED.value})


class LobbyPlugin:
    """Waiting room for trusted and restricted rooms (entry point ``lobby``)."""

    name = PLUGIN_NAME
    #: No enable flag: on whenever it is installed (as in the old system), unless ``MEET_PLUGINS``
    #: leaves it out.
    enabled_by = None

    def __init__(self) -> None:
        self.settings: LobbySettings | None = None

    @hookimpl
    def meet_settings_class(self) -> type[LobbySettings]:
        return LobbySettings

    @hookimpl
    def meet_configure(self, settings: Settings) -> None:
        self.settings = settings.section(PLUGIN_NAME, LobbySettings)

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> Sequence[ControllerRouterHandler]:
        return ROUTES

    @hookimpl
    def meet_lifespan(self, app: Litestar) -> AbstractAsyncContextManager[Any]:
        return self._lifespan(app)

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """One service per application, bound to the app's Valkey and LiveKit clients."""
        assert self.settings is not None, "meet_configure runs before the application starts"
        service = LobbyService(self.settings, pipelined_valkey(app), livekit_api(app))
        set_lobby_service(app, service)
        counters = metrics(app)
        if counters is not None:
            client = valkey_client(app)
            counters.scrape_gauge(
                "meet_lobby_waiting_participants",
                "Participants waiting in a lobby, all rooms together.",
                lambda: service.count_waiting(client),
            )
        try:
            yield
        finally:
            set_lobby_service(app, None)

    @hookimpl
    async def meet_room_join_decision(
        self, request: Request[Any, Any, Any], room: Room, user: User | None
    ) -> JoinDecision | None:
        """A caller admitted by the lobby (cookie -> ``accepted`` entry) may join directly."""
        if room.access_level not in _LOBBY_LEVELS or self.settings is None:
            return None
        pid = cookie_participant_id(request, self.settings.lobby_cookie_name)
        if pid is None:
            return None
        try:
            entry = await lobby_service(request).get(str(room.id), pid)
        except (valkey.exceptions.ConnectionError, valkey.exceptions.TimeoutError) as exc:
            log.warning("lobby state unavailable, room %s served without admission: %r", room.id, exc)
            return None
        if entry is None or entry.status != "accepted":
            return None
        return JoinDecision(participant_id=pid, color=entry.color)

    @hookimpl
    async def meet_participant_removed(
        self, request: Request[Any, Any, Any], room: Room, identity: str
    ) -> None:
        """A participant removed by an administrator must queue again."""
        await lobby_service(request).forget(str(room.id), identity)

    @hookimpl
    async def meet_livekit_event(self, request: Request[Any, Any, Any], event: WebhookEvent) -> None:
        """``room_finished`` clears the room's lobby; ``participant_left`` ends an admission soon.

        An admitted participant who left keeps the admission for ``LOBBY_REJOIN_TIMEOUT`` only,
        so a reload or a reconnection does not send them back to the queue, but coming back
        hours later does. ``participant_joined`` gives a returning participant the admission's
        full deadline back (and records the connection, so that the late ``participant_left``
        of a replaced connection does not end the new one's admission).
        """
        room_id = parse_uuid(event.room.name) if event.room.name else None
        if room_id is None:  # unregistered rooms (slugs) have no lobby
            return
        if event.event == "room_finished":
            await lobby_service(request).clear_room(str(room_id))
        elif event.event == "participant_left" and event.participant.identity:
            participant = event.participant
            await lobby_service(request).participant_left(str(room_id), participant.identity, participant.sid)
        elif event.event == "participant_joined" and event.participant.identity:
            participant = event.participant
            await lobby_service(request).participant_joined(
                str(room_id), participant.identity, participant.sid
            )
