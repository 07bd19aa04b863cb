"""The ``subtitles`` plugin class registered with the core's PluginManager."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar.types import ControllerRouterHandler

from meet_core.api import Settings, hookimpl
from meet_subtitles.settings import PLUGIN_NAME, SubtitlesSettings


class SubtitlesPlugin:
    """Adds start-subtitle / stop-subtitle and turns ``subtitle.enabled`` on in ``/config/``."""

    name = PLUGIN_NAME
    #: The old system's flag: on by default only when it is true (``MEET_PLUGINS`` overrides it).
    enabled_by = "ROOM_SUBTITLE_ENABLED"

    @hookimpl
    def meet_settings_class(self) -> type[SubtitlesSettings]:
        return SubtitlesSettings

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> Sequence[ControllerRouterHandler]:
        from meet_subtitles.routes import ROUTES  # imported only when the plugin is enabled

        return ROUTES

    @hookimpl
    def meet_frontend_config(self, settings: Settings) -> dict[str, Any]:
        return {"subtitle": {"enabled": True}}
