"""The ``meet`` command line: ``serve``, ``db upgrade``, ``plugins``, ``config``, ``users``, ``demo``.

Enabled plugins add their own commands through ``meet_cli_commands``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from meet_core import __version__


def _settings_and_hooks() -> Any:
    from meet_core.app import load_settings
    from meet_core.plugins.manager import PluginError
    from meet_core.settings import SettingsError

    try:
        return load_settings()
    except (SettingsError, PluginError) as exc:
        raise click.ClickException(str(exc)) from exc


class MeetGroup(click.Group):
    """Adds the enabled plugins' commands when the command line is built."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """The enabled plugins' commands, built once per invocation (kept on its root context:
        another invocation in the same process, e.g. a test, reads the environment again)."""
        meta = ctx.find_root().meta
        if "meet.plugin_commands" not in meta:
            commands: dict[str, click.Command] = {}
            meta["meet.plugin_commands"] = commands
            try:
                settings, hooks = _settings_and_hooks()
            except click.ClickException:
                return commands  # reported by the command that needs the settings
            for command in hooks.cli_commands(settings):
                if command.name:
                    commands[command.name] = command
        return meta["meet.plugin_commands"]  # type: ignore[no-any-return]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._plugin_commands(ctx).get(cmd_name)


@click.group(cls=MeetGroup)
@click.version_option(__version__, prog_name="meet")
def main() -> None:
    """The Meet server: a pluggable backend for La Suite Meet."""
    logging.basicConfig(
        level=os.environ.get("MEET_LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8071, show_default=True, type=int, help="Port to bind.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--migrate/--no-migrate", default=False, help="Apply the database migrations first.")
@click.option(
    "--backlog",
    default=16384,
    show_default=True,
    type=click.IntRange(min=128),
    help="Connections held at once, shared by the workers (granian's default, 1024, stalls "
    "every connection beyond about 512 per worker: a lobby of 5,000 keeps 5,000 open).",
)
@click.option(
    "--frontend",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="A built Meet frontend (its dist/ folder) to serve at / beside the API (sets MEET_FRONTEND_DIST).",
)
def serve(host: str, port: int, workers: int, migrate: bool, backlog: int, frontend: str | None) -> None:
    """Serve the API with granian.

    Settings are checked before the workers start. Without REDIS_URL a private Valkey is
    started here, once, and shared by every worker. Each worker builds its application
    with ``create_served_app``.
    """
    from granian import Granian
    from granian.constants import Interfaces, Loops

    from meet_core.cache import PrivateValkey
    from meet_core.livekit.color import warm_color_cache

    if frontend:  # read by the workers' create_app, like REDIS_URL below
        os.environ["MEET_FRONTEND_DIST"] = str(Path(frontend).resolve())
    settings, hooks = _settings_and_hooks()
    if settings.core.log_format == "json":
        from meet_core.http.observe import use_json_logs

        use_json_logs()
    if migrate:
        from meet_core.db.migrate import upgrade

        _migration(upgrade, loaded=(settings, hooks))
    warm_color_cache()  # before granian forks the workers: they inherit it
    private: PrivateValkey | None = None
    if not settings.core.redis_url:
        private = PrivateValkey(settings.core.meet_data_dir)
        os.environ["REDIS_URL"] = private.start()
    metrics_dir = _metrics_folder(settings.core.metrics_enabled, workers)
    try:
        Granian(
            "meet_core.app:create_served_app",
            factory=True,
            interface=Interfaces.ASGI,
            # uvloop (a dependency): its call_soon_threadsafe, which granian calls for every
            # request and every body it hands over, and its sockets cost far less than asyncio's.
            loop=Loops.uvloop if importlib.util.find_spec("uvloop") else Loops.auto,
            address=host,
            port=port,
            workers=workers,
            log_access=False,
            backlog=backlog,
            log_dictconfig=_granian_json_logs() if settings.core.log_format == "json" else None,
        ).serve()
    finally:
        if private is not None:
            private.stop()
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_folder(enabled: bool, workers: int) -> str | None:
    """With metrics on and several workers, a fresh ``PROMETHEUS_MULTIPROC_DIR`` (returned, to
    delete at exit) unless one is set: the workers write their values there and the one that
    answers a scrape reads them all. Set before any worker exists (they inherit it)."""
    if not enabled or workers < 2 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    import tempfile

    folder = tempfile.mkdtemp(prefix="meet-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    if "prometheus_client" in sys.modules:  # imported by a plugin before the variable was set
        raise click.ClickException("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set")
    return folder


def _granian_json_logs() -> dict[str, Any]:
    """granian's own log lines in JSON too (``LOG_FORMAT=json``)."""
    import copy

    from granian.log import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["()"] = "meet_core.http.observe.JsonFormatter"
    return config


@main.group()
def db() -> None:
    """Database schema commands."""


def _migration(action: Any, *args: Any, loaded: Any = None) -> None:
    """Run a ``meet_core.db.migrate`` command with the application's settings and plugins."""
    from meet_core.db.migrate import MigrationError

    settings, hooks = loaded or _settings_and_hooks()
    try:
        action(settings, hooks, *args)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc


@db.command("upgrade")
@click.option("--revision", default=None, help="Target revision (default: the head of each enabled lineage).")
def db_upgrade(revision: str | None) -> None:
    """Apply the migrations of the core and of every enabled plugin.

    A disabled plugin's lineage is left as it is (its revisions stay known, so the revisions it
    applied never stop the upgrade); enabling it again upgrades it from where it stopped.
    """
    from meet_core.db.migrate import upgrade

    _migration(upgrade, revision)
    click.echo("database is up to date")


@db.command("downgrade")
@click.option("--revision", required=True, help="Target (example@base drops a plugin's tables).")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to ``--revision`` (Alembic's downgrade, on every installed lineage)."""
    from meet_core.db.migrate import downgrade

    _migration(downgrade, revision)
    click.echo(f"database downgraded to {revision}")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the revision does.")
@click.option("--plugin", default=None, help="An enabled plugin's lineage (default: the core's).")
@click.option("--autogenerate", is_flag=True, help="Compare the lineage's models with the database.")
def db_revision(message: str, plugin: str | None, autogenerate: bool) -> None:
    """Write a new revision of the core's lineage or of one plugin's (for developers).

    The revision goes into the lineage's folder (a plugin's first ``meet_migration_locations``
    entry), extends its head, or starts it (branch label = the plugin's name, no
    ``down_revision``). ``--autogenerate`` compares only that lineage's tables: run it against
    a database upgraded to the current heads.
    """
    from meet_core.db.migrate import revision

    _migration(revision, message, plugin, autogenerate)


@db.command("check")
def db_check() -> None:
    """Fail when the models of the core and the enabled plugins differ from their migrations."""
    from meet_core.db.migrate import check

    _migration(check)
    click.echo("the migrations match the models")


@main.command("plugins")
def list_plugins() -> None:
    """Installed plugins, their version, whether they are on and why, and the hooks they implement."""
    import importlib.metadata

    from meet_core.plugins.manager import decide, implemented_hooks, installed_entry_points

    settings, hooks = _settings_and_hooks()
    enabled = implemented_hooks(hooks.pm)
    installed = installed_entry_points()
    decisions, _ = decide(settings.core, settings.env, installed)
    if not installed:
        click.echo("no plugin installed")
    for name, ep in sorted(installed.items()):
        version = ep.dist.version if ep.dist else "?"
        try:
            dist = ep.dist.name if ep.dist else "?"
        except importlib.metadata.PackageNotFoundError:
            dist = "?"
        decision = decisions[name]
        click.echo(f"{name} ({dist} {version}): {'on' if decision.on else 'off'}: {decision.reason}")
        if name in enabled:
            click.echo(f"  hooks: {', '.join(enabled[name]) or '-'}")


@main.command("config")
def show_config() -> None:
    """Every setting of the core and of the enabled plugins: value (secrets masked) and source."""
    from meet_core.settings.sources import describe

    settings, _ = _settings_and_hooks()
    section = None
    for row in describe({"core": settings.core, **settings.sections}, settings.env):
        if row.section != section:
            section = row.section
            click.echo(f"[{section}]")
        click.echo(f"{row.variable} = {row.value}  ({row.source})")


@main.group("plugin")
def plugin_group() -> None:
    """Writing plugins."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the plugin's folder (meet-plugin-NAME).",
)
def plugin_new(name: str, directory: Path) -> None:
    """Scaffold a working plugin NAME: a route, settings, a table and its migration, a test."""
    from meet_core.scaffold import ScaffoldError, new_plugin

    try:
        target = new_plugin(name, directory)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {target}")
    click.echo(f"next: pip install -e '{target}[test]' && (cd {target} && python -m pytest)")


def _register_core_groups() -> None:
    from meet_core.demo import demo
    from meet_core.diagnostics.cli import diagnostics_group
    from meet_core.users.cli import users_group

    main.add_command(demo)
    main.add_command(diagnostics_group, name="diagnostics")
    main.add_command(users_group, name="users")


_register_core_groups()


if __name__ == "__main__":
    sys.exit(main())
