"""The ``recording`` plugin class registered with the core's PluginManager.

Cheap to import: routes, models, LiveKit code and boto3 are imported inside the hooks that need
them. Recording modes are a hook of this plugin (``meet_recording_modes``, ``hookspecs.py``);
the two built-in modes are its own implementation of it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meet_core import api
from meet_core.api import Settings, hookimpl

if TYPE_CHECKING:
    import click
    from litestar import Litestar, Request
    from litestar.types import ControllerRouterHandler
    from livekit.api import WebhookEvent
    from sqlalchemy.ext.asyncio import AsyncSession

    from meet_recording.modes import RecordingMode
    from meet_recording.settings import RecordingSettings

api.require("1.0")

log = logging.getLogger("meet_recording")

PLUGIN_NAME = "recording"
MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


class RecordingPlugin:
    """Screen recordings and transcripts through LiveKit egress (entry point ``recording``)."""

    name = PLUGIN_NAME
    #: The old flag that enables the plugin when ``MEET_PLUGINS`` is unset.
    enabled_by = "RECORDING_ENABLE"

    def __init__(self) -> None:
        self.settings: RecordingSettings | None = None
        self.modes: dict[str, RecordingMode] = {}

    # ---------------------------------------------------------------- app building

    @hookimpl
    def meet_add_hookspecs(self, pluginmanager: Any) -> None:
        from meet_recording import hookspecs

        pluginmanager.add_hookspecs(hookspecs)

    @hookimpl
    def meet_settings_class(self) -> type[RecordingSettings]:
        from meet_recording.settings import RecordingSettings

        return RecordingSettings

    @hookimpl
    def meet_configure(self, settings: Settings) -> None:
        from meet_recording.settings import RecordingSettings

        self.settings = settings.section(PLUGIN_NAME, RecordingSettings)

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> Sequence[ControllerRouterHandler]:
        from meet_recording.routes import ROUTES

        return ROUTES

    @hookimpl
    def meet_model_modules(self) -> list[str]:
        return ["meet_recording.models"]

    @hookimpl
    def meet_migration_locations(self) -> list[str]:
        return [str(MIGRATIONS)]

    @hookimpl
    def meet_cli_commands(self, settings: Settings) -> list[click.Command]:
        from meet_recording.cli import recordings_group

        return [recordings_group(settings)]

    @hookimpl
    def meet_lifespan(self, app: Litestar) -> AbstractAsyncContextManager[Any]:
        return self._lifespan(app)

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Collect the modes (every plugin's ``meet_recording_modes``), then serve."""
        from meet_recording.service import RecordingService

        assert self.settings is not None, "meet_configure runs before the application starts"
        offered: dict[str, RecordingMode] = {}
        for modes in await api.hooks(app).call_all("meet_recording_modes", settings=api.settings(app)):
            for mode in modes:
                offered.setdefault(mode.name, mode)  # call order: the plugin registered last first
        allowed = self.settings.recording_worker_classes
        if allowed is not None:
            unknown = sorted(set(allowed) - set(offered))
            if unknown:
                raise api.PluginError(f"RECORDING_WORKER_CLASSES names modes no plugin offers: {unknown}")
            offered = {name: mode for name, mode in offered.items() if name in allowed}
        self.modes = offered
        app.state.meet_recording = RecordingService(
            api.settings(app), self.settings, offered, api.livekit_api(app)
        )
        try:
            yield
        finally:
            app.state.meet_recording = None

    # ---------------------------------------------------------------------- runtime

    @hookimpl
    def meet_recording_modes(self, settings: Settings) -> list[RecordingMode]:
        """The built-in modes, through the same hook as any other plugin's."""
        from meet_recording.modes import builtin_modes

        assert self.settings is not None
        return builtin_modes(self.settings)

    @hookimpl
    def meet_frontend_config(self, settings: Settings) -> dict[str, Any]:
        assert self.settings is not None
        return {
            "recording": {
                "is_enabled": True,
                "available_modes": list(self.modes),
                "expiration_days": self.settings.recording_expiration_days,
                "max_duration": self.settings.recording_max_duration,
            }
        }

    @hookimpl
    async def meet_livekit_event(
        self, request: Request[Any, Any, Any], event: WebhookEvent, db_session: AsyncSession
    ) -> None:
        """Egress progress and end (§3.2), and reconciliation when a room finishes."""
        from meet_recording.events import handle_event

        await handle_event(request, event, db_session)
