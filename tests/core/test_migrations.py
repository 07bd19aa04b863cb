"""The core's Alembic lineage builds, on an empty database, exactly the schema of the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from meet_core.db import CORE_MODEL_MODULES, import_models, metadata
from meet_core.db.migrate import upgrade
from meet_core.settings import Settings

CORE_TABLES = {"meet_user", "meet_room", "meet_resource_access"}


def _diff(url: str) -> list:
    async def compare() -> list:
        engine = create_async_engine(url)
        async with engine.connect() as connection:

            def run(sync_connection):  # type: ignore[no-untyped-def]
                # SQLite reflects UUID columns as NUMERIC: compare types on PostgreSQL only.
                compare_type = sync_connection.dialect.name == "postgresql"
                context = MigrationContext.configure(sync_connection, opts={"compare_type": compare_type})
                return compare_metadata(context, metadata)

            diffs = await connection.run_sync(run)
        await engine.dispose()
        return diffs

    return asyncio.run(compare())


def _table_of(diff) -> str | None:  # type: ignore[no-untyped-def]
    item = diff[0] if isinstance(diff, list) else diff
    for value in item[1:]:
        name = getattr(value, "name", None) if not hasattr(value, "table") else value.table.name
        if isinstance(value, str):
            return value if value in CORE_TABLES else None
        if name:
            return getattr(value, "table", value).name if hasattr(value, "table") else name
    return None


def test_migrations_match_the_models(database_url: str, postgres_url: str | None) -> None:
    """Upgrade an empty database, then compare: no core table, column or index differs."""
    import os

    from meet_core.testing.pytest_plugin import recreate_postgres_database

    if postgres_url:  # the worker's database has tables made by create_all: use an empty one
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        database_url = recreate_postgres_database(
            os.environ["MEET_TEST_DATABASE_URL"], f"meet_migrations_{worker}"
        )
    import_models(CORE_MODEL_MODULES)
    upgrade(Settings.from_env({"DATABASE_URL": database_url, "MEET_PLUGINS": ""}))
    diffs = [d for d in _diff(database_url) if _table_of(d) in CORE_TABLES]
    assert diffs == []
    # and the tables exist
    present = [
        d
        for d in _diff(database_url)
        if isinstance(d, tuple) and d[0] == "add_table" and d[1].name in CORE_TABLES
    ]
    assert present == []
