"""PUT/PATCH/DELETE /rooms/{key}/: permissions, renames, LiveKit metadata mirror, cascade."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from meet_core.rooms.models import ResourceAccess, Room
from meet_core.testing.factories import session_maker

API = "/api/v1.0"


async def _room_with(meet, caller: str, **fields):
    owner = await meet.create_user()
    accesses = [(owner, "owner")]
    me = owner
    if caller != "owner":
        me = await meet.create_user()
        if caller != "stranger":
            accesses.append((me, caller))
    room = await meet.create_room("Board Room", accesses=accesses, **fields)
    await meet.login(me)
    return room, me


async def _stored(meet, room_id):
    async with session_maker(meet.app)() as session:
        return await session.get(Room, room_id)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
async def test_anonymous_gets_401_before_lookup(meet_app, method):
    meet = await meet_app()
    response = await meet.client.request(method.upper(), f"{API}/rooms/does-not-exist/", json={"name": "x"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Session"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_unknown_room_is_404(meet_app, method):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.request(method, f"{API}/rooms/does-not-exist/", json={"name": "x"})
    assert response.status_code == 404
    assert response.json() == {"detail": "No Room matches the given query."}


@pytest.mark.parametrize(
    ("caller", "status"), [("stranger", 403), ("member", 403), ("administrator", 200), ("owner", 200)]
)
async def test_update_permissions(meet_app, caller, status):
    meet = await meet_app()
    room, _ = await _room_with(meet, caller)
    # The permission is checked before the body: an invalid body still gets the 403.
    response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "trusted"})
    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": "You do not have permission to perform this action."}
        assert (await _stored(meet, room.id)).access_level == "public"
    else:
        assert response.json()["access_level"] == "trusted"
        assert "is_administrable" not in response.json()
        assert "accesses" in response.json()
        assert (await _stored(meet, room.id)).access_level == "trusted"


async def test_rename_changes_slug(meet_app):
    meet = await meet_app()
    room, _ = await _room_with(meet, "owner")
    response = await meet.client.put(f"{API}/rooms/{room.slug}/", json={"name": "Renamed Room"})
    assert response.status_code == 200
    assert response.json()["slug"] == "renamed-room"
    assert (await meet.client.get(f"{API}/rooms/renamed-room/")).json()["id"] == str(room.id)


async def test_put_requires_name_patch_does_not(meet_app):
    meet = await meet_app()
    room, _ = await _room_with(meet, "administrator")
    response = await meet.client.put(f"{API}/rooms/{room.id}/", json={"access_level": "trusted"})
    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}
    response = await meet.client.patch(
        f"{API}/rooms/{room.id}/", json={"configuration": {"everyone_can_mute": True}}
    )
    assert response.status_code == 200
    assert response.json()["configuration"] == {"everyone_can_mute": True}
    assert response.json()["name"] == "Board Room"


async def test_update_validation(meet_app):
    meet = await meet_app()
    await meet.create_room("Taken Name")
    room, _ = await _room_with(meet, "owner")
    response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"name": "taken name"})
    assert response.status_code == 400
    assert response.json() == {"slug": ["Room with this Slug already exists."]}
    response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"configuration": {"x": True}})
    assert response.status_code == 400
    assert response.json()["configuration"][0]["type"] == "extra_forbidden"
    # Keeping its own name is not a duplicate.
    response = await meet.client.put(f"{API}/rooms/{room.id}/", json={"name": "Board Room"})
    assert response.status_code == 200
    stored = await _stored(meet, room.id)
    assert (stored.name, stored.slug) == ("Board Room", "board-room")


async def test_metadata_merged_into_live_room(meet_app, livekit):
    meet = await meet_app()
    room, _ = await _room_with(meet, "owner")
    livekit.add_room(
        str(room.id), metadata=json.dumps({"recording_status": "started", "access_level": "public"})
    )
    response = await meet.client.patch(
        f"{API}/rooms/{room.id}/",
        json={"access_level": "restricted", "configuration": {"everyone_can_mute": False}},
    )
    assert response.status_code == 200
    call = livekit.last_call("UpdateRoomMetadata")
    assert call.request.room == str(room.id)
    assert json.loads(call.request.metadata) == {
        "recording_status": "started",
        "access_level": "restricted",
        "configuration": {"everyone_can_mute": False},
    }
    assert json.loads(livekit.room(str(room.id)).metadata)["access_level"] == "restricted"


async def test_metadata_not_sent_when_nothing_relevant_changed(meet_app, livekit):
    meet = await meet_app()
    room, _ = await _room_with(meet, "owner")
    livekit.add_room(str(room.id))
    await meet.client.patch(f"{API}/rooms/{room.id}/", json={"name": "Other Name", "access_level": "public"})
    assert livekit.calls_to("ListRooms") == []
    assert livekit.calls_to("UpdateRoomMetadata") == []


async def test_metadata_skipped_when_room_not_live(meet_app, livekit):
    meet = await meet_app()
    room, _ = await _room_with(meet, "owner")
    response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "trusted"})
    assert response.status_code == 200
    assert len(livekit.calls_to("ListRooms")) == 1
    assert livekit.calls_to("UpdateRoomMetadata") == []


async def test_metadata_corrupt_existing_value_is_replaced(meet_app, livekit):
    meet = await meet_app()
    room, _ = await _room_with(meet, "owner")
    livekit.add_room(str(room.id), metadata="null")
    await meet.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "trusted"})
    assert json.loads(livekit.last_call("UpdateRoomMetadata").request.metadata) == {
        "configuration": {},
        "access_level": "trusted",
    }


@pytest.mark.parametrize("failure", ["down", "twirp-list", "twirp-update"])
async def test_livekit_failure_still_saves(meet_app, livekit, failure):
    meet = await meet_app()
    room, _ = await _room_with(meet, "owner")
    livekit.add_room(str(room.id))
    if failure == "down":
        livekit.set_down()
    elif failure == "twirp-list":
        livekit.fail("ListRooms", "internal")
    else:
        livekit.fail("UpdateRoomMetadata", "not_found")
    response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "restricted"})
    livekit.clear_failures()
    assert response.status_code == 200
    assert response.json()["access_level"] == "restricted"
    assert (await _stored(meet, room.id)).access_level == "restricted"


@pytest.mark.parametrize(
    ("caller", "status"), [("stranger", 403), ("member", 403), ("administrator", 403), ("owner", 204)]
)
async def test_delete_permissions(meet_app, caller, status):
    meet = await meet_app()
    room, _ = await _room_with(meet, caller)
    response = await meet.client.delete(f"{API}/rooms/{room.slug}/")
    assert response.status_code == status
    stored = await _stored(meet, room.id)
    if status == 204:
        assert response.content == b""
        assert stored is None
        async with session_maker(meet.app)() as session:
            left = await session.scalar(
                select(func.count(ResourceAccess.id)).where(ResourceAccess.resource_id == room.id)
            )
        assert left == 0
    else:
        assert response.json() == {"detail": "You do not have permission to perform this action."}
        assert stored is not None
