"""The lobby's runtime hooks through the core's endpoints, the disabled plugin, and Valkey outages."""

from __future__ import annotations

import asyncio
import uuid

from meet_core.api import generate_color
from meet_core.testing import sign_webhook, webhook_body


async def _webhook(meet, livekit, event: str, **fields):
    body = webhook_body(event, id=f"EV_{uuid.uuid4().hex}", **fields)
    response = await meet.client.post(
        "/api/v1.0/rooms/webhooks-livekit/",
        content=body,
        headers={"Authorization": sign_webhook(body, livekit.api_key, livekit.api_secret),
                 "Content-Type": "application/webhook+json"},
    )  # fmt: skip
    assert (response.status_code, response.json()) == (200, {"status": "success"}), response.text
    return response


async def _admitted(meet, lobby, room, client, name="Alice"):
    pid = (await lobby.request_entry(client, room, name)).json()["id"]
    assert (await lobby.enter(meet.client, room, pid, True)).status_code == 200
    return pid


async def test_room_retrieve_gives_admitted_callers_a_token(lobby_app, livekit, lobby):
    meet = await lobby_app()
    admin = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    await meet.login(admin)
    async with meet.new_client() as alice:
        response = await alice.get(f"/api/v1.0/rooms/{room.id}/")
        assert response.status_code == 200 and "livekit" not in response.json()
        pid = (await lobby.request_entry(alice, room, "Alice")).json()["id"]
        response = await alice.get(f"/api/v1.0/rooms/{room.id}/", params={"username": "Alice"})
        assert "livekit" not in response.json()  # waiting is not admitted

        assert (await lobby.enter(meet.client, room, pid, True)).status_code == 200
        response = await alice.get(f"/api/v1.0/rooms/{room.slug}/", params={"username": "Alice"})
        assert response.status_code == 200
        claims = lobby.claims(response.json()["livekit"]["token"])
        assert claims["sub"] == pid and claims["attributes"]["color"] == generate_color(pid)
        assert claims["name"] == "Alice"

    # Another browser (another cookie) or a forged cookie gets nothing.
    async with meet.new_client() as mallory:
        mallory.cookies.set("lobbyParticipantId", str(uuid.uuid4()), domain="testserver.local")
        assert "livekit" not in (await mallory.get(f"/api/v1.0/rooms/{room.id}/")).json()


async def test_remove_participant_forgets_the_admission(lobby_app, livekit, lobby):
    meet = await lobby_app()
    admin = await meet.create_user()
    room = await meet.create_room(access_level="restricted", accesses=[(admin, "administrator")])
    await meet.login(admin)
    async with meet.new_client() as alice:
        pid = await _admitted(meet, lobby, room, alice)
        livekit.add_participant(str(room.id), pid)
        response = await meet.client.post(
            f"/api/v1.0/rooms/{room.id}/remove-participant/", json={"participant_identity": pid}
        )
        assert response.status_code == 200, response.text
        assert livekit.last_call("RemoveParticipant").request.identity == pid
        response = await lobby.request_entry(alice, room, "Alice")
        assert response.json()["status"] == "waiting" and response.json()["livekit"] is None


async def test_room_finished_clears_the_room(lobby_app, livekit, lobby):
    meet = await lobby_app()
    admin = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    other = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    await meet.login(admin)
    async with meet.new_client() as alice, meet.new_client() as bob, meet.new_client() as carol:
        pid_a = await _admitted(meet, lobby, room, alice)
        pid_b = (await lobby.request_entry(bob, room, "Bob")).json()["id"]
        pid_c = await _admitted(meet, lobby, other, carol, "Carol")

        await _webhook(meet, livekit, "room_finished", room={"name": str(room.id), "sid": "RM_1"})

        assert (await lobby.waiting(meet.client, room)).json() == {"participants": []}
        response = await lobby.enter(meet.client, room, pid_b, True)
        assert (response.status_code, response.json()) == (404, {"message": "Participant not found."})
        body = (await lobby.request_entry(alice, room)).json()
        assert (body["id"], body["status"]) == (pid_a, "waiting")
        # Other rooms keep their lobby.
        assert (await lobby.request_entry(carol, other)).json()["status"] == "accepted"
        assert pid_c

    # Unregistered (slug) rooms have no lobby: nothing to do, still a success.
    await _webhook(meet, livekit, "room_finished", room={"name": "some-slug", "sid": "RM_2"})


async def test_participant_left_keeps_the_admission_for_a_rejoin_only(lobby_app, livekit, lobby):
    meet = await lobby_app(env={"LOBBY_REJOIN_TIMEOUT": "1"})
    admin = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    await meet.login(admin)
    async with meet.new_client() as alice, meet.new_client() as bob:
        pid_a = await _admitted(meet, lobby, room, alice)
        pid_b = await _admitted(meet, lobby, room, bob, "Bob")
        await _webhook(
            meet, livekit, "participant_left",
            room={"name": str(room.id)}, participant={"identity": pid_a, "sid": "PA_1"},
        )  # fmt: skip
        # Within the grace period a reload or reconnection gets straight back in...
        assert (await lobby.request_entry(alice, room)).json()["status"] == "accepted"
        await asyncio.sleep(1.3)
        # ...after it, the participant queues again; Bob, still in the meeting, keeps his admission.
        assert (await lobby.request_entry(alice, room)).json()["status"] == "waiting"
        assert (await lobby.request_entry(bob, room)).json()["status"] == "accepted"
        assert pid_b


async def test_participant_joined_restores_the_admission(lobby_app, livekit, lobby):
    meet = await lobby_app(env={"LOBBY_REJOIN_TIMEOUT": "1", "LOBBY_ACCEPTED_TIMEOUT": "30"})
    admin = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    await meet.login(admin)
    room_info = {"name": str(room.id)}
    async with meet.new_client() as alice:
        pid = await _admitted(meet, lobby, room, alice)
        await _webhook(
            meet, livekit, "participant_joined", room=room_info, participant={"identity": pid, "sid": "PA_1"}
        )
        await _webhook(
            meet, livekit, "participant_left", room=room_info, participant={"identity": pid, "sid": "PA_1"}
        )
        # Back within the grace period (a reconnection): the full admission is restored.
        await _webhook(
            meet, livekit, "participant_joined", room=room_info, participant={"identity": pid, "sid": "PA_2"}
        )
        await asyncio.sleep(1.3)
        assert (await lobby.request_entry(alice, room)).json()["status"] == "accepted"

        # LiveKit may report the departure of a replaced connection after the new one joined.
        await _webhook(
            meet, livekit, "participant_joined", room=room_info, participant={"identity": pid, "sid": "PA_3"}
        )
        await _webhook(
            meet, livekit, "participant_left", room=room_info, participant={"identity": pid, "sid": "PA_2"}
        )
        await asyncio.sleep(1.3)
        assert (await lobby.request_entry(alice, room)).json()["status"] == "accepted"

        await _webhook(
            meet, livekit, "participant_left", room=room_info, participant={"identity": pid, "sid": "PA_3"}
        )
        await asyncio.sleep(1.3)
        assert (await lobby.request_entry(alice, room)).json()["status"] == "waiting"


async def test_participant_left_with_zero_grace_forgets_at_once(lobby_app, livekit, lobby):
    meet = await lobby_app(env={"LOBBY_REJOIN_TIMEOUT": "0"})
    admin = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    await meet.login(admin)
    async with meet.new_client() as alice:
        pid = await _admitted(meet, lobby, room, alice)
        await _webhook(
            meet, livekit, "participant_left",
            room={"name": str(room.id)}, participant={"identity": pid, "sid": "PA_1"},
        )  # fmt: skip
        assert (await lobby.request_entry(alice, room)).json()["status"] == "waiting"
        # A waiting participant is not affected by a participant_left of the same identity.
        await _webhook(
            meet, livekit, "participant_left",
            room={"name": str(room.id)}, participant={"identity": pid, "sid": "PA_1"},
        )  # fmt: skip
        assert (await lobby.request_entry(alice, room)).json()["status"] == "waiting"


async def test_plugin_disabled_adds_nothing(meet_app, lobby_app, lobby):
    plain = await meet_app()
    room = await plain.create_room(access_level="trusted")
    admin = await plain.create_user()
    await plain.login(admin)
    for response in (
        await lobby.request_entry(plain.client, room),
        await lobby.enter(plain.client, room, str(uuid.uuid4())),
        await lobby.waiting(plain.client, room),
    ):
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
        assert "lobbyParticipantId" not in response.headers.get("set-cookie", "")
    config_without = (await plain.client.get("/api/v1.0/config/")).json()

    with_lobby = await lobby_app()
    config_with = (await with_lobby.client.get("/api/v1.0/config/")).json()
    assert config_with == config_without


async def test_valkey_outage_is_a_503_and_recovers(lobby_app, valkey_server, lobby):
    meet = await lobby_app()
    admin = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(admin, "owner")])
    async with meet.new_client() as alice:
        assert (await lobby.request_entry(alice, room)).json()["status"] == "waiting"
        valkey_server.stop()
        try:
            response = await lobby.request_entry(alice, room)
            assert (response.status_code, response.json()) == (
                503,
                {"detail": "Valkey is unavailable, please retry later."},
            )
        finally:
            valkey_server.restart()
        # The state was lost with the (non-persistent) server: the participant queues again.
        response = await lobby.request_entry(alice, room, "Alice")
        assert response.status_code == 200, response.text
        pid = response.json()["id"]
        assert response.json()["status"] == "waiting"
        await meet.login(admin)
        assert (await lobby.enter(meet.client, room, pid, True)).status_code == 200
        assert (await lobby.request_entry(alice, room)).json()["status"] == "accepted"
