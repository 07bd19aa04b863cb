"""SAVEPOINTs that also hold on SQLite: how event hooks write in the request's transaction.

Python's sqlite3 driver (under aiosqlite) sends ``BEGIN`` only before the first INSERT,
UPDATE or DELETE. A SAVEPOINT sent before that opens the transaction by itself, and its
RELEASE then commits: the savepoint's writes would survive a rollback of the request.
SQLAlchemy's documented cure (``BEGIN`` on every transaction, through engine events) would
make every read take a snapshot, so that two requests that read then write fail with
``SQLITE_BUSY_SNAPSHOT`` under concurrency. :func:`savepoint` instead sends ``BEGIN`` itself,
only when the driver is not yet in a transaction, only before a savepoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState


async def begin_database_transaction(db_session: AsyncSession) -> None:
    """Make sure the database itself (not only SQLAlchemy) is inside a transaction."""
    connection = await db_session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = await connection.get_raw_connection()
    if not raw.driver_connection.in_transaction:  # type: ignore[union-attr]
        await connection.exec_driver_sql("BEGIN")


@asynccontextmanager
async def savepoint(db_session: AsyncSession, keep_loaded: Iterable[Any] = ()) -> AsyncIterator[None]:
    """Run the block in a SAVEPOINT of ``db_session``'s transaction.

    On an exception (or a flush that fails when the block ends) the savepoint is rolled back,
    the objects of ``keep_loaded`` that the rollback expired are loaded again (an expired
    attribute would otherwise be loaded lazily later, which an async session cannot do), and
    the exception is raised again. The session stays usable either way.
    """
    await begin_database_transaction(db_session)
    try:
        async with db_session.begin_nested():
            yield
    except Exception:
        for value in keep_loaded:
            state = sa_inspect(value, raiseerr=False)
            if isinstance(state, InstanceState) and state.persistent and state.expired_attributes:
                await db_session.refresh(value)
        raise
