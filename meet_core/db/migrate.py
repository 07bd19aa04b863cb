"""Alembic, driven from code: one lineage for the core, one per plugin (docs/migrations.md).

* Every lineage is an independent branch (its first revision has ``down_revision = None``)
  labelled with its owner's name: ``core``, or the plugin's name.
* Alembic knows the revision folders of every *installed* plugin, enabled or not, so a
  revision that a since-disabled plugin applied never breaks ``meet db upgrade`` ("Can't
  locate revision"). Only the core's and the enabled plugins' lineages are upgraded; a
  disabled plugin's tables and rows stay as they are, ready for its re-enabling.
* The enabled plugins come from the application's own :class:`MeetHooks` (the CLI's
  ``load_settings``); the folders of disabled plugins from their classes, loaded from the entry
  points and instantiated without being registered anywhere (a plugin's constructor must be
  cheap and free of side effects: the same rule as for ``create_app``).
* A lineage owns the tables of its model modules: ``meet db revision`` compares those only,
  so a plugin's revision never contains a core table (nor the core's a plugin's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

if TYPE_CHECKING:
    from meet_core.plugins.facade import MeetHooks
    from meet_core.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
CORE_VERSIONS = MIGRATIONS / "versions"
CORE = "core"


class MigrationError(Exception):
    """A migration command that cannot run: the message says what to do."""


@dataclass(frozen=True)
class Lineage:
    """The revisions of the core or of one plugin: branch label ``name``."""

    name: str
    locations: list[str]
    model_modules: list[str] = field(default_factory=list)
    enabled: bool = True


def lineages(hooks: MeetHooks) -> list[Lineage]:
    """The core's lineage, every enabled plugin's and every installed but disabled plugin's."""
    from meet_core.db import CORE_MODEL_MODULES

    found = [Lineage(CORE, [str(CORE_VERSIONS)], list(CORE_MODEL_MODULES))]
    modules = hooks.model_modules_by_plugin()
    for name, locations in sorted(hooks.migration_locations_by_plugin().items()):
        if locations:
            found.append(Lineage(name, locations, modules.get(name, [])))
    for name, locations in sorted(hooks.disabled_migration_locations().items()):
        found.append(Lineage(name, locations, enabled=False))
    return found


def alembic_config(database_url: str, version_locations: Iterable[str]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_locations", " ".join([str(CORE_VERSIONS), *version_locations]))
    config.set_main_option("path_separator", "space")
    config.attributes["database_url"] = database_url
    return config


def config_for(settings: Settings, hooks: MeetHooks) -> tuple[Config, list[Lineage]]:
    """The Alembic config of an application (its database, every installed plugin's folders)."""
    from meet_core.db import CORE_MODEL_MODULES, import_models

    import_models(CORE_MODEL_MODULES + hooks.model_modules())
    url = settings.core.build_database_url()
    ensure_sqlite_folder(url)
    found = lineages(hooks)
    locations = [location for lineage in found[1:] for location in lineage.locations]
    return alembic_config(url, locations), found


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def lineage_tables(lineages: Iterable[Lineage]) -> set[str]:
    """The tables of the mapped classes (and their association tables) of these lineages."""
    from meet_core.db import Base

    modules = [module for lineage in lineages for module in lineage.model_modules]
    tables: set[str] = set()
    for mapper in Base.registry.mappers:
        owner = mapper.class_.__module__
        if any(owner == module or owner.startswith(f"{module}.") for module in modules):
            tables.add(mapper.local_table.name)  # type: ignore[attr-defined]
            tables.update(r.secondary.name for r in mapper.relationships if r.secondary is not None)  # type: ignore[attr-defined]
    return tables


def table_filter(tables: set[str] | None) -> Any:
    """Autogenerate's ``include_object``: only the objects of ``tables`` (all when None)."""

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if tables is None:
            return True
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in tables

    return include_object


def compare_options(dialect_name: str) -> dict[str, Any]:
    """Autogenerate's comparison settings (``env.py``'s, and the tests').

    Types are compared on PostgreSQL only: SQLite reflects declared types loosely
    (advanced-alchemy's GUID comes back as NUMERIC, DateTimeUTC as DATETIME), so comparing them
    there would write an ``alter_column`` of such columns into every new revision.
    """
    return {"compare_type": dialect_name != "sqlite", "compare_server_default": False}


def _branches(config: Config) -> dict[str, set[str]]:
    """Branch label -> the folders holding revisions of that branch; ``""`` -> every folder."""
    script = ScriptDirectory.from_config(config)
    found: dict[str, set[str]] = {"": set()}
    for revision in script.walk_revisions():
        folder = str(Path(revision.path).parent)
        found[""].add(folder)
        for label in revision.branch_labels:
            found.setdefault(label, set()).add(folder)
    return found


def _run(action: Any, *args: Any, **kwargs: Any) -> None:
    """An Alembic command, its "Can't locate revision" explained."""
    try:
        action(*args, **kwargs)
    except CommandError as exc:
        if "Can't locate revision" in str(exc):
            raise MigrationError(
                f"{exc}: the database holds a revision of a plugin that is not installed any more; "
                "reinstall it (it may stay disabled), or remove its rows from alembic_version"
            ) from exc
        raise MigrationError(str(exc)) from exc


def upgrade(settings: Settings, hooks: MeetHooks, revision: str | None = None) -> None:
    """Upgrade the core's lineage and every enabled plugin's to its head (or to ``revision``)."""
    config, found = config_for(settings, hooks)
    if revision is not None:
        _run(command.upgrade, config, revision)
        return
    branches = _branches(config)
    for lineage in found:
        if not lineage.enabled or not {str(Path(p)) for p in lineage.locations} & branches[""]:
            continue  # disabled, or no revision written yet
        if lineage.name not in branches:
            raise MigrationError(
                f"no revision of {lineage.locations} carries the branch label {lineage.name!r}: "
                f"a plugin's first revision needs branch_labels = ({lineage.name!r},)"
            )
        _run(command.upgrade, config, f"{lineage.name}@head")


def downgrade(settings: Settings, hooks: MeetHooks, revision: str) -> None:
    """Alembic's downgrade to ``revision`` (``<plugin>@base`` removes a plugin's tables)."""
    config, _ = config_for(settings, hooks)
    _run(command.downgrade, config, revision)


def revision(
    settings: Settings, hooks: MeetHooks, message: str, plugin: str | None, autogenerate: bool
) -> None:
    """Write a revision of the core's lineage, or of ``plugin``'s (the first one starts it)."""
    config, found = config_for(settings, hooks)
    name = plugin or CORE
    lineage = next((lineage for lineage in found if lineage.name == name and lineage.enabled), None)
    if lineage is None:
        enabled = ", ".join(lineage.name for lineage in found[1:] if lineage.enabled) or "none"
        raise MigrationError(
            f"plugin {name!r} is not enabled or declares no migrations folder "
            f"(enabled plugins with migrations: {enabled})"
        )
    config = _known_to_the_database(settings, config, found)
    config.attributes["include_tables"] = lineage_tables([lineage])
    version_path = lineage.locations[0]
    Path(version_path).mkdir(parents=True, exist_ok=True)
    if name in _branches(config):
        head, branch_label = f"{name}@head", None
    else:
        head, branch_label = "base", name  # a new independent lineage: down_revision = None
    _run(
        command.revision,
        config,
        message=message,
        autogenerate=autogenerate,
        head=head,
        version_path=version_path,
        branch_label=branch_label,
    )


def _database_state(settings: Settings, inspect: Any) -> Any:
    """``inspect(sync_connection)`` run on the configured database (no transaction kept)."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> Any:
        engine = create_async_engine(settings.core.build_database_url())
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(inspect)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _known_to_the_database(settings: Settings, config: Config, found: list[Lineage]) -> Config:
    """The config without the disabled plugins' lineages that the database never applied.

    Autogenerate wants the database at every head it knows: an installed but disabled plugin
    whose tables were never created must not stop another lineage's revision.
    """
    from alembic.migration import MigrationContext

    if all(lineage.enabled for lineage in found):
        return config
    current = _database_state(settings, lambda c: MigrationContext.configure(c).get_current_heads())
    script = ScriptDirectory.from_config(config)
    applied = set()
    for revision_id in current:
        found_revision = script.get_revision(revision_id)
        if found_revision is not None and found_revision.path:
            applied.add(str(Path(found_revision.path).parent))
    keep = [
        location
        for lineage in found[1:]
        for location in lineage.locations
        if lineage.enabled or str(Path(location)) in applied
    ]
    known = alembic_config(settings.core.build_database_url(), keep)
    known.attributes.update(config.attributes)
    return known


def check(settings: Settings, hooks: MeetHooks) -> None:
    """Fail when an enabled lineage is not at its head, or its tables differ from the models.

    Alembic's own ``check`` wants the database at every head, a disabled plugin's too: here only
    the core and the enabled plugins count (a disabled plugin's lineage stays where it is).
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from meet_core.db import metadata

    config, found = config_for(settings, hooks)
    enabled = [lineage for lineage in found if lineage.enabled]
    tables = lineage_tables(enabled)
    script = ScriptDirectory.from_config(config)
    labels = _branches(config)
    wanted = {}
    for lineage in enabled:
        if lineage.name in labels:
            head = script.get_revision(f"{lineage.name}@head")
            if head is not None:
                wanted[head.revision] = lineage.name

    def inspect(connection: Any) -> tuple[set[str], list[Any]]:
        opts = {**compare_options(connection.dialect.name), "include_object": table_filter(tables)}
        context = MigrationContext.configure(connection, opts=opts)
        return set(context.get_current_heads()), compare_metadata(context, metadata)

    current, diffs = _database_state(settings, inspect)
    # A lineage's head that another one depends on is no longer listed itself: take ancestors.
    reached = {revision.revision for revision in script.iterate_revisions(tuple(current), "base")}
    behind = sorted(name for revision, name in wanted.items() if revision not in reached)
    if behind:
        names = ", ".join(behind)
        raise MigrationError(f"Target database is not up to date: {names} (run `meet db upgrade`)")
    if diffs:
        raise MigrationError(f"the models differ from the migrations: {diffs}")
