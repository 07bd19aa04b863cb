"""Valkey through Sentinel (``REDIS_URL=valkey+sentinel://...``): two servers behind the proxy
keep sessions and the lobby through the loss of the Valkey primary's node, without a restart."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import pytest
import valkey
from valkey import exceptions as errors

from meet_core.pipelined_valkey import PipelinedValkey
from meet_core.settings import SettingsError
from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.pytest_plugin import fresh_database
from meet_core.testing.server import free_port
from meet_core.testing.valkey_sentinel import SentinelTestSetup
from meet_core.valkey_sentinel import SentinelURL, parse_sentinel_url
from tests.identity.conftest import API, Provider
from tests.scaleout.conftest import Cluster, backend, start_cluster

RECOVERY = 20  # seconds the servers may take to find the new primary once it is promoted


@pytest.fixture
def sentinel() -> Iterator[SentinelTestSetup]:
    with SentinelTestSetup() as setup:
        yield setup


@pytest.fixture
def sentinel_cluster(
    sentinel: SentinelTestSetup,
    oidc_provider: Provider,
    livekit: FakeLiveKit,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("sentinel")
    env = {
        "DATABASE_URL": fresh_database("meet_sentinel", directory),
        "REDIS_URL": sentinel.url,
        "LOBBY_WAITING_TIMEOUT": "120",  # the waiting participant would poll through the outage
    }
    yield from start_cluster(2, env, directory, oidc_provider, livekit)


@pytest.mark.slow
@pytest.mark.scaleout
async def test_the_servers_carry_on_after_a_failover(
    sentinel_cluster: Cluster, sentinel: SentinelTestSetup
) -> None:
    async with sentinel_cluster.client() as owner, sentinel_cluster.client() as participant:
        await sentinel_cluster.login(owner)
        created = await owner.post(f"{API}/rooms/", json={"name": "Sentinel", "access_level": "trusted"})
        assert created.status_code == 201, created.text
        room = created.json()["id"]
        asked = await participant.post(f"{API}/rooms/{room}/request-entry/", json={"username": "Bob"})
        assert asked.json()["status"] == "waiting", asked.text
        pid = asked.json()["id"]

        old_primary = sentinel.primary_address()
        sentinel.wait_replicated()
        sentinel.kill_primary()
        during = await owner.get(f"{API}/users/me/")  # the primary is gone, not yet replaced
        assert during.status_code == 503, during.text
        await asyncio.to_thread(sentinel.wait_for_failover)
        assert sentinel.primary_address() != old_primary

        # Each process finds the new primary by itself; meanwhile a request is a 503, never a 500.
        recovered_at = time.monotonic()
        deadline = recovered_at + RECOVERY
        while True:
            answers = [await owner.get(f"{API}/users/me/") for _ in range(2)]
            assert {a.status_code for a in answers} <= {200, 503}, answers[-1].text
            if [a.status_code for a in answers] == [200, 200]:
                break
            assert time.monotonic() < deadline, f"no recovery within {RECOVERY} s: {answers[-1].text}"
            await asyncio.sleep(0.2)

        # The session and the lobby were replicated; writes go to the new primary, on both processes.
        steady = [await owner.get(f"{API}/users/me/") for _ in range(4)]
        assert [r.status_code for r in steady] == [200] * 4
        assert {backend(r) for r in steady} == {0, 1}
        waiting = await owner.get(f"{API}/rooms/{room}/waiting-participants/")
        assert [p["id"] for p in waiting.json()["participants"]] == [pid], waiting.text
        admitted = await owner.post(
            f"{API}/rooms/{room}/enter/", json={"participant_id": pid, "allow_entry": True}
        )
        assert admitted.status_code == 200, admitted.text
        polls = [
            await participant.post(f"{API}/rooms/{room}/request-entry/", json={"username": "Bob"})
            for _ in range(2)
        ]
        assert [p.json()["status"] for p in polls] == ["accepted", "accepted"]
        assert {backend(p) for p in polls} == {0, 1}

        logout = await owner.post(f"{API}/logout/")
        assert logout.status_code == 302
        assert (await owner.get(f"{API}/users/me/")).status_code == 401


def test_sentinel_urls() -> None:
    assert parse_sentinel_url("valkey+sentinel://10.0.0.1:26379,10.0.0.2/mymaster/2") == SentinelURL(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26379)), service="mymaster", db=2
    )
    assert parse_sentinel_url(
        "redis+sentinel://app:p%40ss@[::1]:5000/cache?sentinel_username=s&sentinel_password=t"
    ) == SentinelURL(
        sentinels=(("::1", 5000),),
        service="cache",
        username="app",
        password="p@ss",
        sentinel_username="s",
        sentinel_password="t",
    )
    assert parse_sentinel_url("valkey+sentinel://:secret@host/svc").password == "secret"
    for url, message in [
        ("redis://host/0", "not a Sentinel URL"),
        ("valkey+sentinel:///mymaster", "at least one sentinel"),
        ("valkey+sentinel://host", "path is /<service name>"),
        ("valkey+sentinel://host/svc/0/1", "path is /<service name>"),
        ("valkey+sentinel://host/svc/x", "invalid database number"),
        ("valkey+sentinel://host:port/svc", "invalid port"),
        ("valkey+sentinel://host/svc?db=1", "unknown option(s) in the Sentinel URL: db"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_sentinel_url(url)


async def test_a_wrong_sentinel_url_stops_start_up(meet_app) -> None:
    """A typo in the URL is reported at start-up, not at the first request."""
    with pytest.raises(SettingsError, match=r"REDIS_URL: invalid port in sentinel address '127\.0\.0\.1:x'"):
        await meet_app(env={"REDIS_URL": "valkey+sentinel://127.0.0.1:x/mymaster"})


async def test_no_sentinel_answering_is_a_503(meet_app) -> None:
    """Sentinels all down: the requests that need Valkey answer 503, like Valkey down."""
    meet = await meet_app(env={"REDIS_URL": "valkey+sentinel://127.0.0.1:1/mymaster/0"})
    answer = await meet.client.post(f"{API}/rooms/creation-callback/", json={"callback_id": "x"})
    assert answer.status_code == 503, answer.text


async def test_a_demoted_primary_is_left_for_the_sentinels_answer(sentinel: SentinelTestSetup) -> None:
    """The pipelined client connected to the primary; the primary turns into a replica (as after
    a failover it missed): a write's ``READONLY`` drops the connection (503), and a connection to a
    node that is not the primary is refused (``ROLE``) rather than used."""
    client = PipelinedValkey(sentinel.url)
    try:
        assert await client.execute("SET", "k", "v") == b"OK"
        with valkey.Valkey(port=sentinel.primary_port) as primary:
            primary.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
        with pytest.raises(errors.ConnectionError, match="the Valkey primary was demoted: READONLY"):
            await client.execute("SET", "k", "w")
        with pytest.raises(errors.ConnectionError, match="is not the primary yet"):
            await client.execute("GET", "k")
    finally:
        await client.aclose()
