"""One statement on PostgreSQL's driver (asyncpg), past SQLAlchemy's execution layers.

SQLAlchemy's ``AsyncConnection`` costs about 200 µs of CPU per statement over the bare
driver (connection and transaction objects, execution context, result wrapping, the
greenlet hops): more than a room creation's whole insert costs PostgreSQL. A
:class:`DriverStatement` is compiled once by SQLAlchemy (its SQL, its parameters' order and
their types' bind and result processors), then run on a connection checked out of the
engine's own pool (so ``DB_POOL_SIZE``, pre-ping and the pool metrics still apply), in
autocommit: the statement must be atomic on its own (one statement is, in PostgreSQL).

Errors are the driver's: asyncpg's ``UniqueViolationError`` and friends (with
``constraint_name``) for the caller to read; an unreachable database raises asyncpg's or the
OS's errors, which the application answers with 503 (``meet_core.http.errors``); a
connection that failed is invalidated, so the pool never hands it out again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.util import await_only, greenlet_spawn

Processor = Callable[[Any], Any] | None


class DriverStatement:
    """A SELECT (a data-modifying CTE included, or a ``text().columns()``) compiled for the
    asyncpg dialect, run bare."""

    def __init__(self, statement: Select[Any] | TextualSelect, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        binds = compiled.binds
        self.sql = compiled.string
        names = list(compiled.positiontup or [])
        # Each parameter's own value (a literal's; None for those the caller gives) and processor.
        self._params: list[tuple[str, Any, Processor]] = [
            (
                name,
                binds[name].effective_value,
                binds[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in names
        ]
        self._columns: list[tuple[str, Processor]] = [
            (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in statement.selected_columns
        ]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``params`` (by name), each through its type's processor."""
        values = []
        for name, fixed, process in self._params:
            value = params.get(name, fixed)
            values.append(process(value) if process is not None and value is not None else value)
        return values

    def row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A driver record as SQLAlchemy would give it (UUIDs, JSON and times processed)."""
        values = record.values()
        return {
            key: process(value) if process is not None else value
            for (key, process), value in zip(self._columns, values, strict=True)
        }

    async def all(self, engine: AsyncEngine, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row of the statement run with ``params`` (autocommit)."""
        arguments = self.arguments(params)
        records = await greenlet_spawn(self._fetch, engine.sync_engine.pool, arguments)
        return [self.row(record) for record in records]

    def _fetch(self, pool: Pool, arguments: list[Any]) -> Any:
        """Checkout, statement and checkin in one greenlet (the pool's API is synchronous)."""
        fairy = pool.connect()
        connection: Any = fairy.driver_connection
        try:
            return await_only(connection.fetch(self.sql, *arguments))
        except BaseException as exc:
            if _connection_lost(connection):
                fairy.invalidate(exc if isinstance(exc, Exception) else None)
            raise
        finally:
            fairy.close()


def _connection_lost(connection: Any) -> bool:
    is_closed = getattr(connection, "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else True
