"""Three ``meet serve`` processes behind a round-robin proxy, sharing the database and Valkey.

Whatever process a request lands on, the answer is the one a single process would give:
sessions and logout, lobby admission, throttles, creation callbacks, LiveKit webhook
de-duplication. The proxy tells which process answered (``X-Meet-Backend``), so each test
checks that the steps that matter did land on different processes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.pytest_plugin import fresh_database
from meet_core.testing.valkey_server import ValkeyTestServer
from meet_core.testing.webhooks import sign_webhook, webhook_body
from tests.identity.conftest import API, Provider
from tests.scaleout.conftest import Cluster, backend, start_cluster

# One xdist worker runs the whole module, so its three servers start once (`--dist loadgroup`).
pytestmark = [pytest.mark.slow, pytest.mark.scaleout, pytest.mark.xdist_group("three_processes")]
THROTTLE = 4  # CREATION_CALLBACK_THROTTLE_RATES per minute


@pytest.fixture(scope="module")
def valkey_for_cluster() -> Iterator[ValkeyTestServer]:
    with ValkeyTestServer() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    valkey_for_cluster: ValkeyTestServer,
    oidc_provider: Provider,
    fake_livekit: FakeLiveKit,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("scaleout")
    env = {
        "DATABASE_URL": fresh_database("meet_scaleout", directory),
        "REDIS_URL": valkey_for_cluster.url,
        "CREATION_CALLBACK_THROTTLE_RATES": f"{THROTTLE}/minute",
    }
    yield from start_cluster(3, env, directory, oidc_provider, fake_livekit)


@pytest.fixture
def scaleout(cluster: Cluster, valkey_for_cluster: ValkeyTestServer, livekit: FakeLiveKit) -> Cluster:
    """The cluster with Valkey emptied (no session, throttle window or lobby of another test)."""
    valkey_for_cluster.flush()
    cluster.proxy.reset_counts()
    return cluster


async def test_requests_are_spread_over_the_three_processes(scaleout: Cluster) -> None:
    async with scaleout.client() as client:
        answers = [await client.get("/__lbheartbeat__") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert sorted(backend(a) for a in answers) == [0, 0, 1, 1, 2, 2]
    assert scaleout.proxy.counts == [2, 2, 2]


async def test_a_session_works_on_every_process_and_a_logout_ends_it_on_all(scaleout: Cluster) -> None:
    async with scaleout.client() as browser:
        session_id = await scaleout.login(browser)
        seen = [await browser.get(f"{API}/users/me/") for _ in range(3)]
        assert [r.status_code for r in seen] == [200] * 3, seen[-1].text
        assert {backend(r) for r in seen} == {0, 1, 2}
        assert len({r.json()["id"] for r in seen}) == 1

        logout = await browser.post(f"{API}/logout/")
        assert logout.status_code == 302, logout.text
        # The stolen (or kept) cookie is worth nothing anywhere, at once.
        browser.cookies.set("sessionid", session_id)
        after = [await browser.get(f"{API}/users/me/") for _ in range(3)]
        assert [r.status_code for r in after] == [401] * 3
        assert {backend(r) for r in after} == {0, 1, 2}
        assert backend(logout) not in {backend(r) for r in after[:2]}


async def test_lobby_admission_across_processes(scaleout: Cluster) -> None:
    async with scaleout.client() as owner, scaleout.client() as participant:
        await scaleout.login(owner)
        created = await owner.post(f"{API}/rooms/", json={"name": "Scale-out", "access_level": "trusted"})
        assert created.status_code == 201, created.text
        room = created.json()["id"]

        asked = await participant.post(f"{API}/rooms/{room}/request-entry/", json={"username": "Alice"})
        assert asked.status_code == 200, asked.text
        assert asked.json()["status"] == "waiting"
        pid = asked.json()["id"]

        waiting = await owner.get(f"{API}/rooms/{room}/waiting-participants/")
        assert waiting.status_code == 200, waiting.text
        assert [p["id"] for p in waiting.json()["participants"]] == [pid]
        admitted = await owner.post(
            f"{API}/rooms/{room}/enter/", json={"participant_id": pid, "allow_entry": True}
        )
        assert admitted.status_code == 200, admitted.text

        polls = [
            await participant.post(f"{API}/rooms/{room}/request-entry/", json={"username": "Alice"})
            for _ in range(2)
        ]
        for poll in polls:
            assert poll.status_code == 200, poll.text
            assert (poll.json()["status"], poll.json()["id"]) == ("accepted", pid)
            assert poll.json()["livekit"]["token"]
        assert backend(asked) != backend(waiting) != backend(admitted)
        assert {backend(poll) for poll in polls} == {0, 1, 2} - {backend(admitted)}


async def test_a_throttle_is_counted_once_across_processes(scaleout: Cluster) -> None:
    body = {"callback_id": "nothing-here"}
    async with scaleout.client() as client, scaleout.client(local_address="127.0.0.3") as other:
        answers = [
            await client.post(f"{API}/rooms/creation-callback/", json=body) for _ in range(THROTTLE + 2)
        ]
        # The same client from elsewhere: its own window (the servers read X-Forwarded-For).
        elsewhere = await other.post(f"{API}/rooms/creation-callback/", json=body)
    assert [a.status_code for a in answers] == [200] * THROTTLE + [429, 429]
    assert {backend(a) for a in answers[:THROTTLE]} == {0, 1, 2}
    assert backend(answers[THROTTLE]) != backend(answers[THROTTLE + 1])
    assert int(answers[THROTTLE].headers["retry-after"]) > 0
    assert elsewhere.status_code == 200, elsewhere.text


async def test_a_creation_callback_is_read_once_whatever_the_process(scaleout: Cluster) -> None:
    callback_id = f"window-{uuid.uuid4().hex}"
    async with scaleout.client() as creator, scaleout.client() as poller:
        await scaleout.login(creator)
        created = await creator.post(f"{API}/rooms/", json={"name": "Callback", "callback_id": callback_id})
        assert created.status_code == 201, created.text
        reads = [
            await poller.post(f"{API}/rooms/creation-callback/", json={"callback_id": callback_id})
            for _ in range(3)
        ]
    assert [r.status_code for r in reads] == [200] * 3
    assert reads[0].json() == {"status": "success", "room": {"slug": created.json()["slug"]}}
    assert [r.json()["room"] for r in reads[1:]] == [{}, {}]
    assert backend(created) not in {backend(reads[0])}
    assert {backend(r) for r in reads} == {0, 1, 2}


async def test_a_webhook_delivered_to_every_process_is_processed_once(
    scaleout: Cluster, livekit: FakeLiveKit
) -> None:
    """``room_finished`` makes the telephony plugin list the room's SIP rules in LiveKit: one
    listing per event however many processes receive it, at the same moment."""

    async def deliver(client: httpx.AsyncClient, event_id: str) -> httpx.Response:
        body = webhook_body("room_finished", id=event_id, room={"name": str(uuid.uuid4()), "sid": "RM_1"})
        headers = {"Authorization": sign_webhook(body, livekit.api_key, livekit.api_secret)}
        return await client.post(f"{API}/rooms/webhooks-livekit/", content=body, headers=headers)

    async with scaleout.client() as livekit_server:
        first: list[Any] = await asyncio.gather(*(deliver(livekit_server, "EV_once") for _ in range(3)))
        assert [(r.status_code, r.json()) for r in first] == [(200, {"status": "success"})] * 3
        assert {backend(r) for r in first} == {0, 1, 2}
        assert len(livekit.calls_to("ListSIPDispatchRule")) == 1

        other = await deliver(livekit_server, "EV_another")
        assert other.status_code == 200
        assert len(livekit.calls_to("ListSIPDispatchRule")) == 2
