"""Valkey, PostgreSQL and LiveKit stopped and restarted under load (issue #18, docs/operations.md).

A real ``meet serve`` (granian, two workers) gets a few hundred requests per second over
loopback: anonymous joins, an owner's retrieve and room creations (session + CSRF), lobby
requests and the lobby list, a mute (a LiveKit call), LiveKit webhooks. One part is stopped
for a few seconds, then started again. While it is down, answers are successes or that part's
documented 503/502 (never a 500), and ``/__heartbeat__`` is a 503 naming it; once the
heartbeat is green again, every request succeeds, without restarting the server; and no write
was torn (a room without its owner, a lobby entry without its room).

They run where PostgreSQL is (``make test-postgres``, in CI): Valkey's and LiveKit's on a fresh
database of that server, PostgreSQL's on a cluster of its own, which it stops.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.postgres_cluster import RestartableCluster, postgres_installed, restartable_cluster
from meet_core.testing.pytest_plugin import TEST_API_KEY, TEST_API_SECRET
from meet_core.testing.server import ServerProcess
from meet_core.testing.valkey_server import ValkeyTestServer
from tests.faults import load

pytestmark = [
    pytest.mark.slow,
    pytest.mark.faults,
    pytest.mark.skipif(
        not os.environ.get("MEET_TEST_DATABASE_URL"),
        reason="fault tests run with PostgreSQL: make test-postgres",
    ),
]

WORKERS = 2


@pytest.fixture
def own_livekit() -> Iterator[FakeLiveKit]:
    """A fake LiveKit of this test only (it gets stopped)."""
    with FakeLiveKit(api_key=TEST_API_KEY, api_secret=TEST_API_SECRET) as server:
        yield server


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[ValkeyTestServer]:
    """A Valkey of this test only, which keeps its data across a restart (sessions survive)."""
    with ValkeyTestServer(data_dir=tmp_path / "valkey") as server:
        yield server


@pytest.fixture
def cluster() -> Iterator[RestartableCluster]:
    if not postgres_installed():
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql)")
    with restartable_cluster() as server:
        yield server


async def _outage(
    tmp_path: Path,
    database_url: str,
    valkey: ValkeyTestServer,
    livekit: FakeLiveKit,
    part: str,
    stop: Any,
    start: Any,
) -> load.Report:
    env = load.server_env(database_url, valkey.url, livekit, tmp_path)
    with ServerProcess(env, workers=WORKERS, migrate=True, log_path=tmp_path / "server.log") as server:
        seed = await load.seed(database_url, valkey.url, livekit)
        report = await load.run_outage(server, seed, livekit, part, stop, start)
    print(report.summary())
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-4000:]
    assert await load.half_written(database_url, valkey.url) == {
        "rooms without owner": [],
        "lobby entries without room": [],
    }
    return report


def _assert_outage(report: load.Report, allowed: list[tuple[int, Any]], service: str) -> None:
    """Only the documented answers while the part is down, none after the heartbeat is green."""
    # Generous floors: a loaded two-core machine sends far fewer than the 300/s aimed at.
    assert len(report.answers) >= 100, report.summary()
    assert sum(a.phase == load.AFTER for a in report.answers) >= 20, report.summary()
    for answer in report.failures(load.OUTAGE, load.RESTARTING):
        assert (answer.status, answer.body) in allowed, (answer, report.summary())
    assert report.failures(load.BEFORE) == [], report.summary()
    assert report.failures(load.AFTER) == [], (report.failures(load.AFTER)[:5], report.summary())
    assert report.failures(load.OUTAGE, load.RESTARTING), f"the outage went unnoticed: {report.summary()}"
    assert report.heartbeat_down is not None, report.summary()
    status, body = report.heartbeat_down
    assert status == 503 and body["checks"][service].startswith("error"), body
    assert [name for name, check in body["checks"].items() if check != "ok"] == [service], body


async def test_valkey_stopped_and_restarted_under_load(tmp_path, empty_database, own_valkey, own_livekit):
    report = await _outage(
        tmp_path, empty_database, own_valkey, own_livekit, "valkey", own_valkey.stop, own_valkey.restart
    )
    _assert_outage(report, [load.VALKEY_DOWN], "valkey")


async def test_postgres_stopped_and_restarted_under_load(tmp_path, cluster, own_valkey, own_livekit):
    report = await _outage(
        tmp_path, cluster.url, own_valkey, own_livekit, "database", cluster.stop, cluster.start
    )
    _assert_outage(report, [load.DATABASE_DOWN], "database")


async def test_livekit_stopped_and_restarted_under_load(tmp_path, empty_database, own_valkey, own_livekit):
    report = await _outage(
        tmp_path, empty_database, own_valkey, own_livekit, "livekit", own_livekit.stop, own_livekit.start
    )
    _assert_outage(report, [load.LIVEKIT_DOWN, load.MUTE_FAILED], "livekit")
