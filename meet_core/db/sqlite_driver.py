"""sqlite3 connections whose failed statements are finished on the connection's own thread.

aiosqlite runs each connection in a thread of its own. SQLAlchemy's adapter opens a cursor per
statement and closes it, except when the statement fails with an ordinary error (a unique
index refusing a row, "database is locked"): the cursor then lives on in the exception's
traceback, which SQLAlchemy's error wrapping puts in a reference cycle. The garbage collector
frees it later, on the event loop's thread, and sqlite3 resets the failed statement there,
which takes the connection's mutex. If, by then, the pool has lent the connection to another
request whose statement waits on the write lock, its thread holds that mutex for as long as
it waits (up to the busy timeout): the event loop stops, the request that holds the write lock
(on the same loop) cannot finish, and the waiter fails with "database is locked" after the
whole timeout (seen as a frozen worker and a 503 when concurrent room creations draw colliding
telephony PINs).

:class:`SQLiteConnection` gives cursors that close themselves when their statement fails, on
the thread that ran it: the collector then has nothing to reset. The application passes it as
sqlite3's ``factory`` connect argument (``meet_core.db.config``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any


class ClosingCursor(sqlite3.Cursor):
    """A cursor closed as soon as one of its statements fails (see the module's docstring)."""

    def execute(self, sql: str, parameters: Any = (), /) -> ClosingCursor:
        try:
            super().execute(sql, parameters)
        except BaseException:
            self.close()
            raise
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> ClosingCursor:
        try:
            super().executemany(sql, seq_of_parameters)
        except BaseException:
            self.close()
            raise
        return self


class SQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection whose cursors are :class:`ClosingCursor` unless told otherwise."""

    def cursor(self, factory: Any = ClosingCursor) -> Any:
        return super().cursor(factory)
