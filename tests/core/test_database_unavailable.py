"""A PostgreSQL that shuts down, is down or starts again: 503, never 500, then recovery (issue #19).

The test runs its own throwaway cluster (it stops and restarts it), whatever database the
rest of the suite uses; it is skipped only where no PostgreSQL binaries are installed (CI
installs them). Requests flow from a background task all along: every answer must be a 200
or the 503 below, and the app recovers without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from meet_core.testing.postgres_cluster import RestartableCluster, postgres_installed, restartable_cluster

API = "/api/v1.0"
UNAVAILABLE = {"detail": "Database is unavailable, please retry later."}

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_installed(), reason="PostgreSQL is not installed"),
]


@pytest.fixture
def cluster() -> Iterator[RestartableCluster]:
    with restartable_cluster() as server:
        yield server


async def _until(condition: Any, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_postgres_shutting_down_down_and_restarting_is_a_503_then_recovers(cluster, meet_app) -> None:
    import asyncpg

    meet = await meet_app(env={"DATABASE_URL": cluster.url, "ROOM_CACHE_TTL": "0", "DB_POOL_SIZE": "2"})
    room = await meet.create_room("Standup", access_level="public")
    url = f"{API}/rooms/{room.slug}/"
    assert (await meet.client.get(url)).status_code == 200

    answers: list[tuple[int, Any]] = []
    stop_flow = asyncio.Event()

    async def flow() -> None:
        async with meet.new_client() as client:
            while not stop_flow.is_set():
                response = await client.get(url)
                answers.append((response.status_code, response.json()))
                await asyncio.sleep(0.01)

    async def answer() -> tuple[int, Any]:
        response = await meet.client.get(url)
        return response.status_code, response.json()

    flowing = asyncio.create_task(flow())
    plain = cluster.plain_url
    engine = meet.app.state.db_config.get_engine()
    try:
        # 1. A smart shutdown waits for a session to end, refusing new ones meanwhile with
        #    "the database system is shutting down" (CannotConnectNowError, SQLSTATE 57P03).
        held = await asyncpg.connect(plain)
        cluster.stop("smart", wait=False)

        async def refusing() -> bool:
            try:
                await (await asyncpg.connect(plain)).close()
            except asyncpg.CannotConnectNowError:
                return True
            return False

        await _until(refusing)
        await engine.dispose()  # the pool reconnects: each new connection is refused
        assert await answer() == (503, UNAVAILABLE)

        # 2. Down: a connection is refused by the operating system. A connection checked out of
        #    the pool when it was disposed goes back to that old pool and stays open, so the smart
        #    shutdown could wait for it forever (it did once, on a loaded CI run): a fast one ends it.
        await held.close()
        with contextlib.suppress(subprocess.CalledProcessError):  # unless it ended already
            await asyncio.to_thread(cluster.stop, "fast")
        await _until(lambda: asyncio.to_thread(lambda: not os.path.exists(f"{cluster.dir}/postmaster.pid")))
        assert await answer() == (503, UNAVAILABLE)

        # 3. Back: the app serves again, without a restart.
        cluster.start()

        async def serving() -> bool:
            return (await answer())[0] == 200

        await _until(serving)

        # 4. Restarted under the pool's feet: the pooled connections are dead (reset); at
        #    most a 503 per pooled connection, then 200s.
        for _ in range(3):
            assert (await answer())[0] == 200
        cluster.stop("immediate")
        cluster.start()
        await _until(serving)
        await asyncio.sleep(0.2)
    finally:
        stop_flow.set()
        await flowing
        await engine.dispose()  # the fixture's clean-up connects afresh

    statuses = {status for status, _ in answers}
    assert statuses <= {200, 503}, [a for a in answers if a[0] not in (200, 503)][:3]
    assert 503 in statuses and answers[-1][0] == 200
    assert all(body == UNAVAILABLE for status, body in answers if status == 503)
