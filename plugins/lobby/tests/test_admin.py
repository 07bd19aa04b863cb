"""enter/ and waiting-participants/: permissions, validation, decisions and timeouts."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select, update

from meet_core.api import ResourceAccess, User, generate_color

PRIVILEGES = {"detail": "You must have privileges on room to perform this action."}


async def _room_with_admin(meet, access_level="trusted", role="administrator"):
    admin = await meet.create_user()
    room = await meet.create_room(access_level=access_level, accesses=[(admin, role)])
    await meet.login(admin)
    return room, admin


async def test_accept_flow(lobby_app, livekit, lobby):
    meet = await lobby_app()
    room, _ = await _room_with_admin(meet, role="owner")
    async with meet.new_client() as alice, meet.new_client() as bob:
        pid_a = (await lobby.request_entry(alice, room, "Alice")).json()["id"]
        pid_b = (await lobby.request_entry(bob, room, "Bob")).json()["id"]

        response = await lobby.waiting(meet.client, room)
        assert response.status_code == 200
        assert response.json() == {
            "participants": [
                {"status": "waiting", "username": "Alice", "id": pid_a, "color": generate_color(pid_a)},
                {"status": "waiting", "username": "Bob", "id": pid_b, "color": generate_color(pid_b)},
            ]
        }

        response = await lobby.enter(meet.client, room, pid_a.upper(), True)
        assert (response.status_code, response.json()) == (200, {"message": "Participant was updated."})
        assert [p["id"] for p in (await lobby.waiting(meet.client, room)).json()["participants"]] == [pid_b]

        response = await lobby.request_entry(alice, room, "Alice B.")
        body = response.json()
        livekit_config = body.pop("livekit")
        assert body == {
            "id": pid_a,
            "username": "Alice",
            "status": "accepted",
            "color": generate_color(pid_a),
        }
        assert livekit_config["room"] == str(room.id)
        claims = lobby.claims(livekit_config["token"])
        assert claims["sub"] == pid_a and claims["name"] == "Alice B."  # this request's name
        assert claims["attributes"]["color"] == generate_color(pid_a)
        assert claims["video"]["roomJoin"] is True and not claims["video"].get("roomAdmin")

        response = await lobby.enter(meet.client, room, pid_b, False)
        assert response.status_code == 200
        response = await lobby.request_entry(bob, room, "Bob")
        assert response.json() == {
            "id": pid_b,
            "username": "Bob",
            "status": "denied",
            "color": generate_color(pid_b),
            "livekit": None,
        }
        assert (await lobby.waiting(meet.client, room)).json() == {"participants": []}

        # A decision overwrites whatever the status is: a refused participant may be admitted.
        assert (await lobby.enter(meet.client, room, pid_b, "true")).status_code == 200
        assert (await lobby.request_entry(bob, room)).json()["status"] == "accepted"
        assert (await lobby.enter(meet.client, room, pid_a, 0)).status_code == 200
        assert (await lobby.request_entry(alice, room)).json()["status"] == "denied"


async def test_enter_checks_in_order(lobby_app, lobby):
    meet = await lobby_app()
    member = await meet.create_user()
    room, admin = await _room_with_admin(meet)
    public = await meet.create_room(access_level="public", accesses=[(admin, "owner")])
    pid = str(uuid.uuid4())

    async with meet.new_client() as anonymous:
        response = await lobby.enter(anonymous, room, pid)
        assert (response.status_code, response.json()) == (
            401,
            {"detail": "Authentication credentials were not provided."},
        )
        assert response.headers["www-authenticate"] == "Session"
        response = await lobby.waiting(anonymous, room)
        assert response.status_code == 401

    url = f"/api/v1.0/rooms/{room.id}/enter/"
    cases = [
        ({}, {"participant_id": ["This field is required."], "allow_entry": ["This field is required."]}),
        ({"participant_id": "nope", "allow_entry": "maybe"},
         {"participant_id": ["Must be a valid UUID."], "allow_entry": ["Must be a valid boolean."]}),
        ({"participant_id": None, "allow_entry": None},
         {"participant_id": ["This field may not be null."], "allow_entry": ["This field may not be null."]}),
        ({"participant_id": -1, "allow_entry": True}, {"participant_id": ["Must be a valid UUID."]}),
        ({"participant_id": True, "allow_entry": True}, {"participant_id": ["Must be a valid UUID."]}),
        ({"participant_id": pid, "allow_entry": [True]}, {"allow_entry": ["Must be a valid boolean."]}),
    ]  # fmt: skip
    for body, errors in cases:
        response = await meet.client.post(url, json=body)
        assert (response.status_code, response.json()) == (400, errors), body
        response = await meet.client.post("/api/v1.0/rooms/unknown/enter/", json=body)
        assert (response.status_code, response.json()) == (400, errors), body  # body before lookup

    response = await lobby.enter(meet.client, "unknown", pid)
    assert (response.status_code, response.json()) == (404, {"detail": "No Room matches the given query."})
    response = await lobby.enter(meet.client, public, pid)
    assert (response.status_code, response.json()) == (404, {"message": "Room has no lobby system."})
    response = await lobby.enter(meet.client, room, pid)
    assert (response.status_code, response.json()) == (404, {"message": "Participant not found."})

    # Members and strangers are not administrators.
    meet.logout()
    stranger_room = await meet.create_room(access_level="trusted", accesses=[(member, "member")])
    await meet.login(member)
    for target in (room, stranger_room):
        response = await lobby.enter(meet.client, target, pid)
        assert (response.status_code, response.json()) == (403, PRIVILEGES)
        response = await lobby.waiting(meet.client, target)
        assert (response.status_code, response.json()) == (403, PRIVILEGES)

    # CSRF applies to session-authenticated unsafe requests.
    del meet.client.headers["X-CSRFToken"]
    response = await lobby.enter(meet.client, room, pid)
    assert (response.status_code, response.json()) == (403, {"detail": "CSRF Failed: CSRF token missing."})


async def test_waiting_participants_refuses_like_the_other_admin_routes(lobby_app, lobby):
    """The list reads user, room and role in one statement: the same 401 / 404 / 403 as ``enter``."""
    meet = await lobby_app()
    room, admin = await _room_with_admin(meet)
    response = await lobby.waiting(meet.client, "no-such-room")
    assert (response.status_code, response.json()) == (404, {"detail": "No Room matches the given query."})
    response = await lobby.waiting(meet.client, room.id.hex)  # the id without dashes, or the slug
    assert (response.status_code, response.json()) == (200, {"participants": []})
    owner = await meet.create_user()
    owned = await meet.create_room(access_level="restricted", accesses=[(owner, "owner")])
    response = await lobby.waiting(meet.client, owned)
    assert (response.status_code, response.json()) == (403, PRIVILEGES)

    async with meet.app.state.db_config.get_session() as session:  # the admin is deactivated
        await session.execute(update(User).where(User.id == admin.id).values(is_active=False))
        await session.commit()
    for target in (room, "no-such-room"):  # 401 comes first, as with the current_user dependency
        response = await lobby.waiting(meet.client, target)
        assert (response.status_code, response.json()) == (
            401,
            {"detail": "Authentication credentials were not provided."},
        )
        assert response.headers["www-authenticate"] == "Session"
    await meet.login(owner)
    response = await lobby.waiting(meet.client, owned)
    assert (response.status_code, response.json()) == (200, {"participants": []})


async def test_waiting_participants_of_public_room_is_empty(lobby_app, lobby):
    meet = await lobby_app()
    room, _ = await _room_with_admin(meet, access_level="public")
    response = await lobby.waiting(meet.client, room.slug)
    assert (response.status_code, response.json()) == (200, {"participants": []})


async def test_timeouts(lobby_app, livekit, lobby):
    meet = await lobby_app(
        env={"LOBBY_WAITING_TIMEOUT": "1.2", "LOBBY_DENIED_TIMEOUT": "1.2", "LOBBY_ACCEPTED_TIMEOUT": "1.2"}
    )
    room, _ = await _room_with_admin(meet, access_level="restricted")
    livekit.add_room(str(room.id))
    async with meet.new_client() as alice, meet.new_client() as bob:
        pid_a = (await lobby.request_entry(alice, room, "Alice")).json()["id"]
        pid_b = (await lobby.request_entry(bob, room, "Bob")).json()["id"]
        # Alice polls faster than the timeout and stays; Bob stops polling and falls out.
        for _ in range(5):
            await asyncio.sleep(0.3)
            assert (await lobby.request_entry(alice, room)).json()["status"] == "waiting"
        listed = (await lobby.waiting(meet.client, room)).json()["participants"]
        assert [p["id"] for p in listed] == [pid_a]
        response = await lobby.enter(meet.client, room, pid_b)
        assert (response.status_code, response.json()) == (404, {"message": "Participant not found."})
        assert len(livekit.calls_to("SendData")) == 2

        # Denied lasts LOBBY_DENIED_TIMEOUT, then the next poll queues again and notifies again.
        assert (await lobby.enter(meet.client, room, pid_a, False)).status_code == 200
        assert (await lobby.request_entry(alice, room)).json()["status"] == "denied"
        await asyncio.sleep(1.5)
        assert (await lobby.request_entry(alice, room, "Alice again")).json() == {
            "id": pid_a,
            "username": "Alice again",
            "status": "waiting",
            "color": generate_color(pid_a),
            "livekit": None,
        }
        assert len(livekit.calls_to("SendData")) == 3

        # Accepted lasts LOBBY_ACCEPTED_TIMEOUT and polling does not extend it.
        assert (await lobby.enter(meet.client, room, pid_a, True)).status_code == 200
        await asyncio.sleep(0.4)
        assert (await lobby.request_entry(alice, room)).json()["status"] == "accepted"
        await asyncio.sleep(1.1)
        assert (await lobby.request_entry(alice, room)).json()["status"] == "waiting"


async def test_accept_racing_polls_is_never_lost(lobby_app, lobby):
    meet = await lobby_app()
    room, _ = await _room_with_admin(meet)
    async with meet.new_client() as alice:
        pid = (await lobby.request_entry(alice, room)).json()["id"]
        polls = [lobby.request_entry(alice, room) for _ in range(30)]
        results = await asyncio.gather(*polls[:15], lobby.enter(meet.client, room, pid), *polls[15:])
        assert all(r.status_code == 200 for r in results)
        assert (await lobby.request_entry(alice, room)).json()["status"] == "accepted"
        assert (await lobby.waiting(meet.client, room)).json() == {"participants": []}


async def test_participant_id_as_integer_or_hex(lobby_app, lobby):
    meet = await lobby_app()
    room, _ = await _room_with_admin(meet)
    async with meet.new_client() as alice:
        alice.cookies.set("lobbyParticipantId", str(uuid.UUID(int=5)), domain="testserver.local")
        pid = (await lobby.request_entry(alice, room)).json()["id"]
        assert pid == "00000000-0000-0000-0000-000000000005"
        assert (await lobby.enter(meet.client, room, 5, True)).status_code == 200  # as DRF's UUIDField
        assert (await lobby.request_entry(alice, room)).json()["status"] == "accepted"
        assert (await lobby.enter(meet.client, room, uuid.UUID(pid).hex, False)).status_code == 200
        assert (await lobby.request_entry(alice, room)).json()["status"] == "denied"


async def _access_id(meet, room, user) -> str:
    async with meet.app.state.db_config.get_session() as session:
        access = await session.scalar(
            select(ResourceAccess).where(
                ResourceAccess.resource_id == room.id, ResourceAccess.user_id == user.id
            )
        )
        return str(access.id)


async def test_a_privilege_kept_by_the_worker_goes_with_the_access(lobby_app, lobby):
    """With the room cache on, the admin's list skips the database; an access changed through
    this worker is forgotten at once, whoever makes the change."""
    meet = await lobby_app(env={"ROOM_CACHE_TTL": "30"})
    owner, admin = await meet.create_user(), await meet.create_user()
    room = await meet.create_room(
        access_level="trusted", accesses=[(owner, "owner"), (admin, "administrator")]
    )
    access_id = await _access_id(meet, room, admin)
    async with meet.new_client() as admin_client:
        await meet.login(admin, admin_client)
        for _ in range(2):  # the second one from the cache
            assert (await lobby.waiting(admin_client, room)).status_code == 200
        await meet.login(owner)
        url = f"/api/v1.0/resource-accesses/{access_id}/"
        assert (await meet.client.patch(url, json={"role": "member"})).status_code == 200
        response = await lobby.waiting(admin_client, room)
        assert (response.status_code, response.json()) == (403, PRIVILEGES)

        assert (await meet.client.patch(url, json={"role": "administrator"})).status_code == 200
        assert (await lobby.waiting(admin_client, room)).status_code == 200
        assert (await meet.client.delete(url)).status_code == 204
        response = await lobby.waiting(admin_client, room)
        assert (response.status_code, response.json()) == (403, PRIVILEGES)


async def test_a_privilege_changed_elsewhere_lasts_one_ttl_and_one_refresh(lobby_app, lobby):
    """Another worker (or the users CLI) deactivating the admin: past ``ROOM_CACHE_TTL`` the
    cached privilege answers once more while it is checked again, then 401."""
    meet = await lobby_app(env={"ROOM_CACHE_TTL": "0.3"})
    room, admin = await _room_with_admin(meet)
    assert (await lobby.waiting(meet.client, room)).status_code == 200
    async with meet.app.state.db_config.get_session() as session:
        await session.execute(update(User).where(User.id == admin.id).values(is_active=False))
        await session.commit()
    assert (await lobby.waiting(meet.client, room)).status_code == 200  # within the TTL
    await asyncio.sleep(0.35)
    statuses = []
    for _ in range(20):
        statuses.append((await lobby.waiting(meet.client, room)).status_code)
        if statuses[-1] == 401:
            break
        await asyncio.sleep(0.02)
    assert statuses[0] == 200 and statuses[-1] == 401 and len(statuses) <= 3, statuses
