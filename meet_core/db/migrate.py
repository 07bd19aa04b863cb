"""Alembic, driven from code: the core lineage plus one lineage per enabled plugin.

The core's revisions live in ``meet_core/db/migrations/versions`` (branch label ``core``);
a plugin that owns tables returns its own folder from ``meet_migration_locations`` with a
branch label of its own. ``upgrade`` applies ``heads``: every lineage of the enabled set.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from meet_core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str, version_locations: list[str]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_locations", " ".join([str(MIGRATIONS / "versions"), *version_locations]))
    config.set_main_option("version_path_separator", " ")
    config.set_main_option("path_separator", "space")
    config.attributes["database_url"] = database_url
    return config


def config_for(settings: Settings) -> Config:
    """The Alembic config of an application's settings (its database and enabled plugins)."""
    from meet_core.db import CORE_MODEL_MODULES, import_models
    from meet_core.plugins.facade import MeetHooks
    from meet_core.plugins.manager import build_plugin_manager

    hooks = MeetHooks(build_plugin_manager(settings.core, env=settings.env))
    import_models(CORE_MODEL_MODULES + hooks.model_modules())
    ensure_sqlite_folder(settings.core.build_database_url())
    return alembic_config(settings.core.build_database_url(), hooks.migration_locations())


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade(settings: Settings, revision: str = "heads") -> None:
    ensure_sqlite_folder(settings.core.build_database_url())
    command.upgrade(config_for(settings), revision)
