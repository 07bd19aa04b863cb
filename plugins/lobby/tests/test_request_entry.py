"""POST rooms/{id}/request-entry/: queueing, bypass, cookie, notification, validation, throttle."""

from __future__ import annotations

import asyncio
import uuid

from livekit import api

from meet_core.api import generate_color

NOTIFICATION = b'{"type": "participantWaiting"}'


def _cookie_header(response) -> str:
    headers = [
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "lobbyParticipantId" in v
    ]
    assert len(headers) == 1, headers
    return headers[0]


async def test_anonymous_waits_in_trusted_room_and_room_is_notified(lobby_app, livekit, lobby):
    meet = await lobby_app()
    room = await meet.create_room(access_level="trusted")
    livekit.add_room(str(room.id))

    response = await lobby.request_entry(meet.client, room, "  Alice ")
    assert response.status_code == 200, response.text
    pid = response.cookies["lobbyParticipantId"]
    assert str(uuid.UUID(pid)) == pid
    assert response.json() == {
        "id": pid,
        "username": "Alice",
        "status": "waiting",
        "color": generate_color(pid),
        "livekit": None,
    }
    header = _cookie_header(response)
    assert f"lobbyParticipantId={pid}" in header
    assert "HttpOnly" in header and "SameSite=lax" in header.replace("Lax", "lax") and "Path=/" in header
    assert "Secure" not in header and "Max-Age" not in header and "expires" not in header.lower()

    [listed] = livekit.calls_to("ListRooms")
    assert list(listed.request.names) == [str(room.id)]
    [sent] = livekit.calls_to("SendData")
    assert sent.request.room == str(room.id)
    assert sent.request.data == NOTIFICATION
    assert sent.request.kind == api.DataPacket.Kind.RELIABLE
    assert not sent.request.topic and not list(sent.request.destination_identities)

    # A poll keeps the participant (cookie sent back), returns the stored name, does not notify.
    response = await lobby.request_entry(meet.client, room, "Bob")
    assert response.status_code == 200
    assert response.json() == {
        "id": pid,
        "username": "Alice",
        "status": "waiting",
        "color": generate_color(pid),
        "livekit": None,
    }
    assert _cookie_header(response).startswith(f"lobbyParticipantId={pid};")
    assert len(livekit.calls_to("SendData")) == 1 and len(livekit.calls_to("ListRooms")) == 1


async def test_room_not_live_is_not_notified(lobby_app, livekit, lobby):
    meet = await lobby_app()
    room = await meet.create_room(access_level="restricted")
    response = await lobby.request_entry(meet.client, room)
    assert response.json()["status"] == "waiting"
    assert len(livekit.calls_to("ListRooms")) == 1
    assert livekit.calls_to("SendData") == []


async def test_livekit_failing_or_down_never_stops_queueing(lobby_app, livekit, lobby):
    meet = await lobby_app()
    room = await meet.create_room(access_level="trusted")
    livekit.add_room(str(room.id))
    livekit.fail("SendData", code="internal")
    response = await lobby.request_entry(meet.client, room)
    assert response.status_code == 200 and response.json()["status"] == "waiting"
    assert len(livekit.calls_to("SendData")) == 1  # tried once, the error only logged

    livekit.clear_failures()
    livekit.set_down()
    async with meet.new_client() as other:
        response = await lobby.request_entry(other, room, "Carol")
    livekit.set_down(False)
    assert response.status_code == 200 and response.json()["status"] == "waiting"
    assert response.json()["username"] == "Carol"


async def test_public_room_bypasses_without_storing(lobby_app, livekit, lobby):
    meet = await lobby_app()
    owner = await meet.create_user()
    room = await meet.create_room(
        access_level="public", configuration={"can_publish_sources": ["camera"]}, accesses=[(owner, "owner")]
    )
    async with meet.new_client() as guest:
        response = await lobby.request_entry(guest, room, "Guest")
    assert response.status_code == 200
    body = response.json()
    pid = body["id"]
    assert response.cookies["lobbyParticipantId"] == pid
    livekit_config = body.pop("livekit")
    assert body == {"id": pid, "username": "Guest", "status": "accepted", "color": generate_color(pid)}
    assert livekit_config["room"] == str(room.id) and livekit_config["url"] == livekit.url
    claims = lobby.claims(livekit_config["token"])
    assert claims["sub"] == pid and claims["name"] == "Guest"
    assert claims["attributes"]["color"] == generate_color(pid)
    assert claims["attributes"]["is_authenticated"] == "false"
    assert claims["video"]["room"] == str(room.id) and claims["video"]["canPublishSources"] == ["camera"]
    assert livekit.calls == []  # no notification for bypassers

    await meet.login(owner)
    # Not stored: the public room has no lobby, and a trusted copy would list nobody either.
    assert (await lobby.waiting(meet.client, room)).json() == {"participants": []}


async def test_trusted_room_authenticated_bypasses_with_sub_identity(lobby_app, livekit, lobby):
    meet = await lobby_app()
    user = await meet.create_user(full_name="Dana Doe")
    room = await meet.create_room(access_level="trusted")
    await meet.login(user)
    response = await lobby.request_entry(meet.client, room, "Ignored?")
    assert response.status_code == 200
    body = response.json()
    pid = body["id"]
    assert body["status"] == "accepted" and body["color"] == generate_color(pid)
    claims = lobby.claims(body["livekit"]["token"])
    assert claims["sub"] == user.sub
    assert claims["attributes"]["color"] == generate_color(pid)  # the lobby id's color, as before
    assert claims["attributes"]["is_authenticated"] == "true"


async def test_restricted_room_needs_a_role_to_bypass(lobby_app, livekit, lobby):
    meet = await lobby_app()
    stranger = await meet.create_user()
    member = await meet.create_user()
    room = await meet.create_room(access_level="restricted", accesses=[(member, "member")])

    await meet.login(stranger)
    response = await lobby.request_entry(meet.client, room)
    assert response.json()["status"] == "waiting" and response.json()["livekit"] is None
    pid = response.json()["id"]

    # Bypass is recomputed on every call: the same browser, now logged in as a member.
    meet.logout()
    meet.client.cookies.set("lobbyParticipantId", pid, domain="testserver.local")
    await meet.login(member)
    response = await lobby.request_entry(meet.client, room, "Member")
    body = response.json()
    assert body["id"] == pid and body["status"] == "accepted"
    assert body["username"] == "Alice"  # the cached entry, switched to accepted in the answer only
    claims = lobby.claims(body["livekit"]["token"])
    assert claims["sub"] == member.sub and claims["attributes"]["room_role"] == "member"

    meet.logout()
    meet.client.cookies.set("lobbyParticipantId", pid, domain="testserver.local")
    response = await lobby.request_entry(meet.client, room)
    assert response.json()["status"] == "waiting"  # the entry was never switched in Valkey


async def test_secure_cookie_only_over_https(lobby_app, lobby):
    meet = await lobby_app()
    room = await meet.create_room(access_level="trusted")
    response = await lobby.request_entry(meet.client, room, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in _cookie_header(response)
    async with meet.new_client() as other:
        other.base_url = "https://testserver.local"
        response = await lobby.request_entry(other, room)
    assert "Secure" in _cookie_header(response)


async def test_invalid_cookie_gets_a_new_id(lobby_app, lobby):
    meet = await lobby_app()
    room = await meet.create_room(access_level="trusted")
    meet.client.cookies.set("lobbyParticipantId", "not-a-uuid:*", domain="testserver.local")
    response = await lobby.request_entry(meet.client, room)
    pid = response.json()["id"]
    assert pid != "not-a-uuid:*" and str(uuid.UUID(pid)) == pid
    # An upper-case id is canonicalised (the enter endpoint canonicalises too).
    upper = str(uuid.uuid4()).upper()
    meet.client.cookies.set("lobbyParticipantId", upper, domain="testserver.local")
    response = await lobby.request_entry(meet.client, room)
    assert response.json()["id"] == upper.lower()


async def test_body_is_validated_before_the_room_lookup(lobby_app, lobby):
    meet = await lobby_app()
    room = await meet.create_room(access_level="trusted")
    url = f"/api/v1.0/rooms/{room.id}/request-entry/"
    cases = [
        ({}, {"username": ["This field is required."]}),
        ({"username": None}, {"username": ["This field may not be null."]}),
        ({"username": "   "}, {"username": ["This field may not be blank."]}),
        ({"username": ["a"]}, {"username": ["Not a valid string."]}),
        ({"username": True}, {"username": ["Not a valid string."]}),
        ({"username": "x" * 256}, {"username": ["Ensure this field has no more than 255 characters."]}),
    ]
    for body, errors in cases:
        response = await meet.client.post(url, json=body)
        assert (response.status_code, response.json()) == (400, errors), body
        response = await meet.client.post("/api/v1.0/rooms/unknown-room/request-entry/", json=body)
        assert (response.status_code, response.json()) == (400, errors), body
    response = await meet.client.post(url, content=b"[1]", headers={"content-type": "application/json"})
    assert response.status_code == 400
    response = await meet.client.post(url, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]
    response = await lobby.request_entry(meet.client, "unknown-room")
    assert (response.status_code, response.json()) == (404, {"detail": "No Room matches the given query."})
    response = await lobby.request_entry(meet.client, room.slug, 42)
    assert response.status_code == 200 and response.json()["username"] == "42"  # by slug, number as text
    response = await meet.client.get(url)
    assert (response.status_code, response.json()) == (405, {"detail": 'Method "GET" not allowed.'})


async def test_throttle_per_participant_user_and_address(lobby_app, lobby):
    meet = await lobby_app(env={"REQUEST_ENTRY_THROTTLE_RATES": "2/minute"})
    room = await meet.create_room(access_level="trusted")

    # Cookieless calls count per address: two new participants, then 429.
    async with meet.new_client() as a, meet.new_client() as b, meet.new_client() as c:
        assert (await lobby.request_entry(a, room)).status_code == 200
        assert (await lobby.request_entry(b, room)).status_code == 200
        response = await lobby.request_entry(c, room)
        assert response.status_code == 429
        assert response.json()["detail"].startswith("Request was throttled. Expected available in")
        assert int(response.headers["retry-after"]) in range(58, 61)
        # With its cookie, a participant has its own budget.
        assert (await lobby.request_entry(a, room)).status_code == 200
        response = await lobby.request_entry(a, room)
        assert response.status_code == 200
        response = await lobby.request_entry(a, room)
        assert response.status_code == 429
        assert response.json()["detail"].startswith("Request was throttled. Expected available in")
        assert (await lobby.request_entry(b, room)).status_code == 200

    # Authenticated callers count per user, whatever their cookie.
    user = await meet.create_user()
    await meet.login(user)
    for expected in (200, 200, 429):
        meet.client.cookies.set("lobbyParticipantId", str(uuid.uuid4()), domain="testserver.local")
        assert (await lobby.request_entry(meet.client, room)).status_code == expected


async def _set_access_level(meet, room, level: str) -> None:
    from sqlalchemy import update

    from meet_core.api import Room
    from meet_core.testing.factories import session_maker

    async with session_maker(meet.app)() as session:
        await session.execute(update(Room).where(Room.id == room.id).values(access_level=level))
        await session.commit()


async def test_bypass_follows_access_level_changes(lobby_app, lobby):
    meet = await lobby_app(env={"ROOM_CACHE_TTL": "0"})
    room = await meet.create_room(access_level="trusted")
    assert (await lobby.request_entry(meet.client, room)).json()["status"] == "waiting"
    await _set_access_level(meet, room, "public")
    assert (await lobby.request_entry(meet.client, room)).json()["status"] == "accepted"
    await _set_access_level(meet, room, "restricted")
    assert (await lobby.request_entry(meet.client, room)).json()["status"] == "waiting"


async def test_room_cache_delays_access_level_changes_for_anonymous_polls(lobby_app, lobby):
    meet = await lobby_app(env={"ROOM_CACHE_TTL": "1.5"})
    room = await meet.create_room(access_level="trusted")
    assert (await lobby.request_entry(meet.client, room)).json()["status"] == "waiting"
    await _set_access_level(meet, room, "public")
    assert (await lobby.request_entry(meet.client, room)).json()["status"] == "waiting"
    await asyncio.sleep(1.6)
    # Past the TTL the cached room still answers once, while it is read again in the background.
    statuses = [(await lobby.request_entry(meet.client, room)).json()["status"]]
    for _ in range(20):
        if statuses[-1] == "accepted":
            break
        await asyncio.sleep(0.05)
        statuses.append((await lobby.request_entry(meet.client, room)).json()["status"])
    assert statuses[-1] == "accepted" and len(statuses) <= 3, statuses


async def test_a_throttled_poll_changes_nothing_and_refused_requests_count(lobby_app, lobby):
    """The poll counts its hit in the same script, first: over the rate nobody is queued."""
    meet = await lobby_app(env={"REQUEST_ENTRY_THROTTLE_RATES": "2/minute"})
    owner = await meet.create_user()
    room = await meet.create_room(access_level="trusted", accesses=[(owner, "owner")])
    async with meet.new_client() as a, meet.new_client() as b, meet.new_client() as c:
        assert (await lobby.request_entry(a, room, username="A")).status_code == 200
        assert (await lobby.request_entry(b, room, username="B")).status_code == 200
        assert (await lobby.request_entry(c, room, username="C")).status_code == 429
    await meet.login(owner)
    waiting = (await lobby.waiting(meet.client, room)).json()["participants"]
    assert sorted(p["username"] for p in waiting) == ["A", "B"]

    # A refused request (bad body, unknown room) counts too, and once over the rate 429 wins.
    other = await meet.create_room(access_level="trusted")
    async with meet.new_client() as d:
        d.cookies.set("lobbyParticipantId", str(uuid.uuid4()), domain="testserver.local")  # own budget
        assert (await lobby.request_entry(d, other, username="")).status_code == 400
        response = await d.post(f"/api/v1.0/rooms/{uuid.uuid4()}/request-entry/", json={"username": "D"})
        assert response.status_code == 404
        assert (await lobby.request_entry(d, other, username="")).status_code == 429
        assert (await lobby.request_entry(d, other, username="D")).status_code == 429
