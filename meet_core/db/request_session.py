"""The request's database session, opened only when a handler needs one.

advanced-alchemy's ``db_session`` dependency opens a session for every request that declares
it, and its ``autocommit`` handler commits (or rolls back) and closes it after the response:
a cost paid even when nothing is read. Paths that touch the database only sometimes (the
anonymous join, the lobby poll) call :func:`request_db_session` when they do: it returns
the very session the dependency would (one per request, kept in the ASGI scope), so the
same handler closes it.
"""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from litestar import Request
from sqlalchemy import Row, RowMapping, Select
from sqlalchemy.ext.asyncio import AsyncSession


def request_db_session(request: Request[Any, Any, Any]) -> AsyncSession:
    """The request's session, created on first use (the ``db_session`` dependency's own)."""
    session: AsyncSession = request.app.state.db_config.provide_session(request.app.state, request.scope)
    return session


def existing_db_session(request: Request[Any, Any, Any]) -> AsyncSession | None:
    """The request's session if something opened it already, else None (and none is opened).

    Read-only paths pass it to :func:`read_first`/:func:`read_all`: without a session they
    read on an autocommit connection, and the request ends without a commit to run.
    """
    session: AsyncSession | None = get_aa_scope_state(
        request.scope, request.app.state.db_config.session_scope_key
    )
    return session


async def read_first(
    request: Request[Any, Any, Any],
    db_session: AsyncSession | None,
    query: Select[Any],
    params: dict[str, Any] | None = None,
) -> RowMapping | None:
    """The first row of a read-only ``query``, in one round trip when the request has no transaction.

    With no transaction open on ``db_session`` (or no session at all), the statement runs on
    an autocommit connection: on PostgreSQL one round trip instead of BEGIN, SELECT, COMMIT.
    Inside an open transaction it goes through the session, so that a request never holds
    two pooled connections at once (which could exhaust the pool under load).
    """
    if db_session is not None and db_session.in_transaction():
        return (await db_session.execute(query, params)).mappings().first()
    engine = request.app.state.db_config.get_engine()
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await connection.execute(query, params)).mappings().first()


async def read_all(
    request: Request[Any, Any, Any],
    db_session: AsyncSession | None,
    query: Select[Any],
    params: dict[str, Any] | None = None,
) -> list[Row[Any]]:
    """Every row of a read-only ``query``, on an autocommit connection as :func:`read_first`.

    Rows, not ORM instances: building an instance (identity map, instrumented attributes)
    costs tens of µs each, more than the query itself on a page of rooms with their accesses.
    ``params`` fill the ``bindparam`` of a statement built once (building one costs more).
    """
    if db_session is not None and db_session.in_transaction():
        return list(await db_session.execute(query, params))
    engine = request.app.state.db_config.get_engine()
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        return list(await connection.execute(query, params))
