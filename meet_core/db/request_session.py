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

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession


def request_db_session(request: Request[Any, Any, Any]) -> AsyncSession:
    """The request's session, created on first use (the ``db_session`` dependency's own)."""
    session: AsyncSession = request.app.state.db_config.provide_session(request.app.state, request.scope)
    return session
