"""The ``files`` plugin class (entry point ``files``): background images of participants.

Cheap to import: routes, models, boto3 and puremagic are imported inside the hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from litestar.types import ControllerRouterHandler

from meet_core.api import Settings, hookimpl, require
from meet_files.settings import PLUGIN_NAME, FilesSettings

require("1.0")

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


class FilesPlugin:
    """Files API, its table, the ``background_image`` key of ``/config/`` and ``meet files``."""

    name = PLUGIN_NAME
    #: The old flag that enables the plugin when ``MEET_PLUGINS`` is unset.
    enabled_by = "FILE_UPLOAD_ENABLED"

    def __init__(self) -> None:
        self.settings: FilesSettings | None = None

    @hookimpl
    def meet_settings_class(self) -> type[FilesSettings]:
        return FilesSettings

    @hookimpl
    def meet_configure(self, settings: Settings) -> None:
        self.settings = settings.section(PLUGIN_NAME, FilesSettings)

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> Sequence[ControllerRouterHandler]:
        from meet_files.routes import ROUTES

        return ROUTES

    @hookimpl
    def meet_model_modules(self) -> list[str]:
        return ["meet_files.models"]

    @hookimpl
    def meet_migration_locations(self) -> list[str]:
        return [str(MIGRATIONS)]

    @hookimpl
    def meet_cli_commands(self, settings: Settings) -> list[click.Command]:
        from meet_files.cli import files_group

        return [files_group(settings)]

    @hookimpl
    def meet_frontend_config(self, settings: Settings) -> dict[str, Any]:
        assert self.settings is not None, "meet_configure runs before any request"
        return {"background_image": self.settings.frontend_fragment()}
