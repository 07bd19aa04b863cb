"""Pytest fixtures for the Meet server and its plugins (registered through the ``pytest11`` entry point).

* ``valkey_server`` (session): a real Valkey; flushed for each test by ``meet_env``.
* ``fake_livekit`` (session) / ``livekit`` (per test, reset): the fake LiveKit server.
* ``database_url``: a fresh SQLite file per test, or PostgreSQL when
  ``MEET_TEST_DATABASE_URL`` is set (one database per xdist worker, truncated after each test).
* ``s3_server`` (session) / ``s3`` (per test, emptied): a real S3 endpoint on loopback (moto).
* ``meet_env``: the environment of an app wired to all of the above.
* ``meet_app``: a factory ``await meet_app(env={...}, plugins=[...]) -> MeetTestApp``.
* ``empty_database``: the URL of an empty database (SQLite file, or PostgreSQL recreated), for
  migrations; ``meet_cli``: ``meet_cli("db", "upgrade", plugins="lobby,mine")`` runs the ``meet``
  command line on it; :func:`schema_diff` compares its tables with the models.
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
def s3_server() -> Iterator[Any]:
    """A real S3 endpoint on loopback (moto's server mode), for the whole session."""
    from meet_core.testing.s3_server import S3TestServer

    with S3TestServer() as server:
        yield server


@pytest.fixture
def s3(s3_server: Any) -> Any:
    """The S3 server, emptied: ``s3.create_bucket(name)``, ``s3.client()``, ``s3.env(bucket)``."""
    s3_server.reset()
    yield s3_server


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
        # Nor a logged-in read from the stamped caches (factories' writes bump no stamp).
        "LOGGED_IN_CACHE_TTL": "0",
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


def fresh_database(name: str, directory: Any) -> str:
    """An empty database for this xdist worker: ``<name>_<worker>`` recreated on the suite's
    PostgreSQL (``MEET_TEST_DATABASE_URL``), else a new SQLite file ``<name>.sqlite3`` in
    ``directory``. For fixtures of any scope (:func:`empty_database` is the per-test one)."""
    base = os.environ.get("MEET_TEST_DATABASE_URL")
    if not base:
        return f"sqlite+aiosqlite:///{directory}/{name}.sqlite3"
    return recreate_postgres_database(base, f"{name}_{_worker()}")


@pytest.fixture
def empty_database(tmp_path: Any, postgres_url: str | None) -> str:
    """An empty database (a new SQLite file, or a PostgreSQL database recreated for this test):
    where ``meet db upgrade`` runs the real migrations (``meet_app`` builds tables from the models)."""
    return fresh_database("meet_migrations", tmp_path)


@pytest.fixture
def meet_cli(empty_database: str, meet_env: dict[str, str], tmp_path: Any, monkeypatch: Any) -> Any:
    """``output = meet_cli("db", "upgrade", plugins="lobby,mine")``: the ``meet`` command line, in
    this process, on :func:`empty_database` with the test Valkey and LiveKit; fails on a non-zero exit
    unless ``expect_exit=`` says otherwise. ``plugins`` is ``MEET_PLUGINS`` (entry points)."""
    from click.testing import CliRunner

    from meet_core import cli

    def run(
        *args: str, plugins: str = "lobby", expect_exit: int = 0, env: dict[str, str] | None = None
    ) -> str:
        environment = {
            **meet_env,
            "DATABASE_URL": empty_database,
            "MEET_DATA_DIR": str(tmp_path),
            "MEET_PLUGINS": plugins,
            "MEET_ENV_FILE": os.devnull,
            **(env or {}),
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(cli.main, list(args))
        assert result.exit_code == expect_exit, f"meet {' '.join(args)}: {result.output}{result.exception!r}"
        return result.output

    return run


def on_database(database_url: str, work: Any) -> Any:
    """Run ``work(sync_connection)`` in a transaction on the database (committed); its result.

    For tests outside an event loop: reading or seeding a database that ``meet db`` migrated.
    """
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def go() -> Any:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def schema_diff(database_url: str, tables: set[str]) -> list[Any]:
    """Alembic's comparison of ``tables`` in the models and in the database: empty when the
    migrations built exactly what the models say (import the models first)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from meet_core.db import metadata
    from meet_core.db.migrate import compare_options, table_filter

    def compare(connection: Any) -> list[Any]:
        opts = {**compare_options(connection.dialect.name), "include_object": table_filter(tables)}
        return compare_metadata(MigrationContext.configure(connection, opts=opts), metadata)  # type: ignore[no-any-return]

    return on_database(database_url, compare)  # type: ignore[no-any-return]
