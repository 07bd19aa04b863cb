"""``meet_lobby_waiting_participants`` (METRICS_ENABLED): the lobby's gauge, read at each scrape
from Valkey, through ``meet_core.api.metrics``; the lobby's LiveKit calls are counted too."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import ResourceAccess


async def _gauge(meet, name: str = "meet_lobby_waiting_participants") -> dict[tuple, float]:
    response = await meet.client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.startswith(name)
    }


async def test_waiting_participants_of_every_room(lobby_app, livekit, lobby):
    meet = await lobby_app(env={"METRICS_ENABLED": "true"})
    assert await _gauge(meet) == {("meet_lobby_waiting_participants", ()): 0}

    first = await meet.create_room(access_level="trusted")
    second = await meet.create_room(access_level="restricted")
    livekit.add_room(str(first.id))
    pids = []
    for room in (first, first, second):
        async with meet.new_client() as client:
            response = await lobby.request_entry(client, room)
            assert response.status_code == 200
            pids.append(response.json()["id"])
    assert await _gauge(meet) == {("meet_lobby_waiting_participants", ()): 3}

    admin = await meet.create_user()
    await meet.login(admin)
    engine = meet.app.state.db_config.get_engine()
    async with AsyncSession(engine) as session:
        session.add(ResourceAccess(resource_id=first.id, user_id=admin.id, role="owner"))
        await session.commit()
    assert (await lobby.enter(meet.client, first, pids[0])).status_code == 200
    assert await _gauge(meet) == {("meet_lobby_waiting_participants", ()): 2}

    calls = await _gauge(meet, "meet_livekit_calls_total")
    assert calls[("meet_livekit_calls_total", (("method", "RoomService.ListRooms"),))] >= 2
