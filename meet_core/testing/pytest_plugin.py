"""Pytest fixtures for the Meet server and its plugins (registered through the ``pytest11`` entry point).

* ``valkey_server`` (session): a real Valkey; flushed for each test by ``meet_env``.
* ``fake_livekit`` (session) / ``livekit`` (per test, reset): the fake LiveKit server.
* ``database_url``: a fresh SQLite file per test, or PostgreSQL when
  ``MEET_TEST_DATABASE_URL`` is set (one database per xdist worker, truncated after each test).
* ``meet_env``: the environment of an app wired to all of the above.
* ``meet_app``: a factory ``await meet_app(env={...}, plugins=[...]) -> MeetTestApp``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.harness import MeetTestApp
from meet_core.testing.valkey_server import ValkeyTestServer

TEST_API_KEY = "devkey"
TEST_API_SECRET = "secret-for-tests-that-is-long-enough-for-hs256"


@pytest.fixture(scope="session")
def valkey_server() -> Iterator[ValkeyTestServer]:
    with ValkeyTestServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake_livekit() -> Iterator[FakeLiveKit]:
    server = FakeLiveKit(api_key=TEST_API_KEY, api_secret=TEST_API_SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def livekit(fake_livekit: FakeLiveKit) -> Iterator[FakeLiveKit]:
    """The fake LiveKit server, with no recorded call, state or failure."""
    fake_livekit.reset()
    yield fake_livekit
    fake_livekit.reset()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def recreate_postgres_database(base_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``base_url``; return its asyncpg URL."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)

    async def recreate() -> None:
        connection = await asyncpg.connect(
            user=url.username,
            password=url.password,
            host=url.host or "localhost",
            port=url.port or 5432,
            database="postgres",
        )
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(recreate())
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A PostgreSQL database of this worker (created fresh), or None when not configured."""
    base = os.environ.get("MEET_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database or 'meet'}_test_{_worker()}"
    recreate_postgres_database(base, name)
    yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


@pytest.fixture
def database_url(postgres_url: str | None, tmp_path: Any) -> str:
    if postgres_url:
        return postgres_url
    return f"sqlite+aiosqlite:///{tmp_path}/meet.sqlite3"


@pytest.fixture
def meet_env(
    valkey_server: ValkeyTestServer, livekit: FakeLiveKit, database_url: str, tmp_path: Any
) -> dict[str, str]:
    """Environment of an app using the test Valkey (flushed), the fake LiveKit and the test database."""
    valkey_server.flush()
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": valkey_server.url,
        "LIVEKIT_API_URL": livekit.url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "MEET_DATA_DIR": str(tmp_path),
        # Tests change rows behind the API's back: never serve a room from a worker's cache.
        "ROOM_CACHE_TTL": "0",
    }


async def _truncate(meet: MeetTestApp) -> None:
    from sqlalchemy import text

    from meet_core.db import metadata

    engine = meet.app.state.db_config.get_engine()
    if engine.dialect.name != "postgresql":
        return
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    if tables:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture
async def meet_app(meet_env: dict[str, str]) -> AsyncIterator[Any]:
    """Factory: ``meet = await meet_app(env={...}, plugins=[...])`` — started, schema created.

    ``env`` is merged over ``meet_env``; ``plugins`` defaults to none (no entry-point scan).
    """
    stack = AsyncExitStack()
    apps: list[MeetTestApp] = []

    async def factory(env: dict[str, str] | None = None, plugins: Any = ()) -> MeetTestApp:
        meet = MeetTestApp({**meet_env, **(env or {})}, plugins)
        await stack.enter_async_context(meet)
        apps.append(meet)
        return meet

    try:
        yield factory
    finally:
        if apps:
            await _truncate(apps[0])
        await stack.aclose()
