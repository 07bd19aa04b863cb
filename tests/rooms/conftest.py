"""Helpers for the room tests: decoding LiveKit tokens and counting SQL statements."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
from sqlalchemy import event

from meet_core.testing.pytest_plugin import TEST_API_KEY, TEST_API_SECRET

API = "/api/v1.0"
DEFAULT_SOURCES = ["camera", "microphone", "screen_share", "screen_share_audio"]


@pytest.fixture
def decode() -> Callable[[str], dict[str, Any]]:
    """Verify and decode a LiveKit token minted by the app under test."""

    def _decode(token: str) -> dict[str, Any]:
        return jwt.decode(token, TEST_API_SECRET, algorithms=["HS256"], issuer=TEST_API_KEY)

    return _decode


@pytest.fixture
def count_queries() -> Callable[[Any], Any]:
    """``with count_queries(meet) as statements:`` records the SQL sent to the app's engine."""

    @contextmanager
    def _count(meet: Any) -> Iterator[list[str]]:
        engine = meet.app.state.db_config.get_engine().sync_engine
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return _count


@pytest.fixture
def served_from_cache(count_queries: Callable[[Any], Any]) -> Callable[..., Any]:
    """``await served_from_cache(meet, client, url)``: GET ``url`` until the worker's caches
    answer it, the third request reading no database at all; that answer's JSON."""

    async def _served(meet: Any, client: Any, url: str) -> Any:
        for _ in range(2):
            assert (await client.get(url)).status_code == 200
        with count_queries(meet) as statements:
            response = await client.get(url)
        assert response.status_code == 200
        assert statements == [], statements
        return response.json()

    return _served
