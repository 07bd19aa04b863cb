"""The ``telephony`` plugin class registered with the core's PluginManager.

Database work goes through the small functions of ``pins.py``, given the session of the hook:
``meet_room_created`` runs in a savepoint of the request's transaction, ``meet_livekit_event``
in a transaction of its own, and ``meet_room_extra_fields`` reads (and, for a room made
before the plugin was enabled, writes) through the request's session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from litestar import Request
from litestar.types import ControllerRouterHandler
from livekit.api import WebhookEvent
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import Room, Settings, hookimpl, livekit_api, request_db_session
from meet_telephony.pins import ensure_pin, room_exists
from meet_telephony.settings import PLUGIN_NAME, TelephonySettings, phone_fragment
from meet_telephony.sip import SipError, delete_rules, ensure_rule

log = logging.getLogger("meet_telephony")

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def _room_id(name: str) -> uuid.UUID | None:
    """The registered room a LiveKit room name stands for (unregistered rooms use slugs)."""
    try:
        return uuid.UUID(name)
    except ValueError:
        return None


class TelephonyPlugin:
    """Room PINs, the rooms' SIP dispatch rules and roomkit join (entry point ``telephony``)."""

    name = PLUGIN_NAME
    #: The old flag that enables the plugin when ``MEET_PLUGINS`` is unset.
    enabled_by = "ROOM_TELEPHONY_ENABLED"

    def __init__(self) -> None:
        self.settings: TelephonySettings | None = None
        self.fragment: dict[str, Any] = {"enabled": False}

    # ---------------------------------------------------------------- app building

    @hookimpl
    def meet_settings_class(self) -> type[TelephonySettings]:
        return TelephonySettings

    @hookimpl
    def meet_configure(self, settings: Settings) -> None:
        self.settings = settings.section(PLUGIN_NAME, TelephonySettings)
        self.fragment = phone_fragment(self.settings)
        if not self.fragment["enabled"]:
            log.info("ROOM_TELEPHONY_PHONE_NUMBER is not set: the frontend shows no dial-in number")

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> Sequence[ControllerRouterHandler]:
        from meet_telephony.routes import ROUTES

        return ROUTES

    @hookimpl
    def meet_model_modules(self) -> list[str]:
        return ["meet_telephony.models"]

    @hookimpl
    def meet_migration_locations(self) -> list[str]:
        return [str(MIGRATIONS)]

    @hookimpl
    def meet_cli_commands(self, settings: Settings) -> list[click.Command]:
        from meet_telephony.cli import telephony_group

        return [telephony_group(settings)]

    # ---------------------------------------------------------------------- runtime

    @hookimpl
    def meet_frontend_config(self, settings: Settings) -> dict[str, Any]:
        return {"telephony": dict(self.fragment)}

    def _config(self) -> TelephonySettings:
        assert self.settings is not None, "meet_configure runs before any request"
        return self.settings

    async def _ensure_pin(self, db_session: AsyncSession, room_id: uuid.UUID) -> str | None:
        config = self._config()
        return await ensure_pin(
            db_session, room_id, config.room_telephony_pin_length, config.room_telephony_pin_max_retries
        )

    @hookimpl
    async def meet_room_created(self, room: Room, db_session: AsyncSession) -> None:
        """Every new room gets its PIN in the transaction that creates it (in a savepoint)."""
        await self._ensure_pin(db_session, room.id)

    @hookimpl
    async def meet_room_extra_fields(self, request: Request[Any, Any, Any], room: Room) -> dict[str, Any]:
        """``pin_code`` of the room (drawn now for a room made before the plugin was enabled).

        The core drops the key for callers who may not join the room (api.md §2.3).
        """
        return {"pin_code": await self._ensure_pin(request_db_session(request), room.id)}

    @hookimpl
    async def meet_livekit_event(
        self, request: Request[Any, Any, Any], event: WebhookEvent, db_session: AsyncSession
    ) -> None:
        """``room_started``: the room's dispatch rule, once; ``room_finished``: its rules deleted.

        A LiveKit failure is logged (the webhook still answers 200): the next ``room_started``
        or roomkit join creates the rule, the next ``room_finished`` deletes what is left.
        """
        if event.event not in ("room_started", "room_finished"):
            return
        room_id = _room_id(event.room.name)
        if room_id is None:
            return
        livekit = livekit_api(request)
        try:
            if event.event == "room_finished":
                await delete_rules(livekit, room_id)
                return
            if not await room_exists(db_session, room_id):
                return
            pin = await self._ensure_pin(db_session, room_id)
            if pin is not None:
                await ensure_rule(livekit, room_id, pin, self._config().trunk_ids)
        except SipError as exc:
            log.warning("%s event of room %s: %s", event.event, room_id, exc)
