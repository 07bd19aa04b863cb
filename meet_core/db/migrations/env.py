"""Alembic environment: async engine from the URL our code puts in ``config.attributes``.

``config.attributes["include_tables"]`` (set by ``meet db revision`` and ``meet db check``)
limits autogenerate to one lineage's tables: a plugin's revision never touches a core table,
and a table of a disabled plugin, still in the database, is not "removed".
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from meet_core.db import metadata
from meet_core.db.migrate import compare_options, table_filter

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=table_filter(config.attributes.get("include_tables")),
        **compare_options(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(config.attributes["database_url"])
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.attributes["database_url"], target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())
