"""The database engine's configuration, shared by the application and the command line.

Kept apart from ``meet_core.app`` so that a command (``meet users ...``) opens the database
without building an application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, EngineConfig, SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from meet_core.db.migrate import ensure_sqlite_folder
from meet_core.db.sqlite_driver import SQLiteConnection
from meet_core.settings import CoreSettings, Settings


@asynccontextmanager
async def database_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the configured database for a command line tool (no application running).

    ``async with database_sessions(settings) as sessions, sessions() as session: ...``; each
    session commits only when told to; the engine is closed on exit.
    """
    engine = database_config(settings.core).get_engine()
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


def database_config(core: CoreSettings) -> SQLAlchemyAsyncConfig:
    """advanced-alchemy config: one engine per app, commit on 2xx and roll back otherwise."""
    url = core.build_database_url()
    engine: dict[str, Any] = {"echo": core.db_echo}
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)
        # Failed statements closed on their connection's thread, never by the collector on the
        # event loop's (meet_core.db.sqlite_driver says why).
        engine["connect_args"] = {"factory": SQLiteConnection}
    else:
        # No overflow: a connection opened beyond the pool is closed on its return, so under a
        # sustained load beyond the pool every request would start a PostgreSQL backend (it
        # halved the throughput of room creation, bench/README.md); past the pool, requests
        # wait for a connection instead.
        engine.update(pool_size=core.db_pool_size, max_overflow=0, pool_pre_ping=core.db_pool_pre_ping)
    config = SQLAlchemyAsyncConfig(
        connection_string=url,
        before_send_handler="autocommit",
        session_dependency_key="db_session",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(**engine),
        set_default_exception_handler=False,
    )
    if url.startswith("sqlite"):
        # Foreign keys (and so ON DELETE CASCADE) are off by default in SQLite.
        @event.listens_for(config.get_engine().sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return config
