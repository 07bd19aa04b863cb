"""``meet telephony backfill`` and the plugin's migration lineage."""

from __future__ import annotations

import asyncio
import os
import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import create_async_engine

from meet_core.cli import main
from meet_core.db import CORE_MODEL_MODULES, import_models, metadata
from meet_core.db.migrate import upgrade
from meet_core.settings import Settings
from meet_telephony.cli import telephony_group


async def _invoke(command, args, env):  # type: ignore[no-untyped-def]
    """Run the command line in a thread (it runs its own event loop), on the test's database."""
    full_env = {**env, "MEET_ENV_FILE": os.devnull}
    return await asyncio.to_thread(CliRunner().invoke, command, args, env=full_env, catch_exceptions=False)


async def test_backfill_gives_a_pin_to_every_room_without_one(kit, meet_env, monkeypatch):
    meet = await kit.app()
    older = [await meet.create_room(f"older {i}") for i in range(3)]  # made before the plugin
    recent = await kit.create_room(meet)
    # The ``meet`` group lists the enabled plugins' commands once per process: start afresh.
    monkeypatch.delattr(main, "_plugin_cache", raising=False)

    result = await _invoke(main, ["telephony", "backfill", "--batch-size", "2"],
                           {**meet_env, "MEET_PLUGINS": "telephony"})  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 room(s) given a PIN"
    pins = await kit.pins(meet)
    assert set(pins) == {str(r.id) for r in older} | {recent["id"]}
    assert pins[recent["id"]] == recent["pin_code"]
    assert all(re.fullmatch(r"\d{10}", pin) for pin in pins.values())
    assert len(set(pins.values())) == 4

    again = await _invoke(telephony_group, ["backfill"], {**meet_env, "MEET_PLUGINS": "telephony"})
    assert again.output.strip() == "0 room(s) given a PIN"
    assert await kit.pins(meet) == pins
    monkeypatch.delattr(main, "_plugin_cache", raising=False)


async def test_backfill_needs_the_plugin_enabled(kit, meet_env):
    await kit.app()
    result = await _invoke(telephony_group, ["backfill"], {**meet_env, "MEET_PLUGINS": ""})
    assert result.exit_code == 1
    assert "the telephony plugin is not enabled" in result.output


def test_the_migration_lineage_builds_the_plugin_table(database_url, postgres_url):
    """``meet db upgrade`` with the plugin enabled makes exactly the table of its model."""
    from meet_core.testing.pytest_plugin import recreate_postgres_database

    if postgres_url:  # the worker's database has tables made by create_all: use an empty one
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        database_url = recreate_postgres_database(
            os.environ["MEET_TEST_DATABASE_URL"], f"meet_telephony_migrations_{worker}"
        )
    import_models([*CORE_MODEL_MODULES, "meet_telephony.models"])
    upgrade(Settings.from_env({"DATABASE_URL": database_url, "MEET_PLUGINS": "telephony"}))

    async def compare() -> list:  # type: ignore[type-arg]
        engine = create_async_engine(database_url)
        async with engine.connect() as connection:

            def run(sync_connection):  # type: ignore[no-untyped-def]
                compare_type = sync_connection.dialect.name == "postgresql"
                context = MigrationContext.configure(sync_connection, opts={"compare_type": compare_type})
                return compare_metadata(context, metadata)

            diffs = await connection.run_sync(run)
            tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
        await engine.dispose()
        return [diffs, tables]

    diffs, tables = asyncio.run(compare())
    assert "meet_telephony_room_pin" in tables
    mine = [d for d in diffs if "meet_telephony_room_pin" in repr(d)]
    assert mine == []
