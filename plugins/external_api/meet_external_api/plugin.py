"""The ``external_api`` plugin class registered with the core's PluginManager.

Cheap to import: routes, models, argon2 and pyjwt are imported by the hooks that need them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
from litestar.types import ControllerRouterHandler

from meet_core.api import Settings, hookimpl, require
from meet_external_api.settings import PLUGIN_NAME, ExternalApiSettings

require("1.1")

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


class ExternalApiPlugin:
    """Applications, their token endpoint, the external rooms API and the add-ons sign-in."""

    name = PLUGIN_NAME
    #: The old flag that enables the plugin when ``MEET_PLUGINS`` is unset.
    enabled_by = "EXTERNAL_API_ENABLED"

    @hookimpl
    def meet_settings_class(self) -> type[ExternalApiSettings]:
        return ExternalApiSettings

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> Sequence[ControllerRouterHandler]:
        from meet_external_api.addons import ROUTES as ADDONS
        from meet_external_api.rooms_routes import ROUTES as ROOMS
        from meet_external_api.token_route import application_token_view

        return [application_token_view, *ROOMS, *ADDONS]

    @hookimpl
    def meet_model_modules(self) -> list[str]:
        return ["meet_external_api.models"]

    @hookimpl
    def meet_migration_locations(self) -> list[str]:
        return [str(MIGRATIONS)]

    @hookimpl
    def meet_cli_commands(self, settings: Settings) -> list[click.Command]:
        from meet_external_api.cli import applications_group

        return [applications_group(settings)]
