"""The PIN is the plugin's field of the room payload: never served from the core's logged-in caches."""

from __future__ import annotations

from sqlalchemy import update

from meet_core.testing.factories import session_maker
from meet_telephony.models import RoomPin

API = "/api/v1.0"


async def test_a_changed_pin_shows_with_the_logged_in_caches_on(kit):
    meet = await kit.app(ROOM_CACHE_TTL="30", LOGGED_IN_CACHE_TTL="30")
    owner = await meet.create_user()
    room = await meet.create_room("Phoned", access_level="restricted", accesses=[(owner, "owner")])
    await meet.login(owner)
    for _ in range(2):  # the room, then the owner's view of it, cached
        assert (await meet.client.get(f"{API}/rooms/{room.id}/")).json()["pin_code"]
    async with session_maker(meet.app)() as session:
        await session.execute(update(RoomPin).where(RoomPin.room_id == room.id).values(pin="4242424242"))
        await session.commit()
    assert (await meet.client.get(f"{API}/rooms/{room.id}/")).json()["pin_code"] == "4242424242"
