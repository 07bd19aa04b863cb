"""Room PINs over HTTP: format, uniqueness (also under concurrent creation), lazy PINs and
who sees them (api.md §2.3, services.md §4.1)."""

from __future__ import annotations

import asyncio
import re

import pytest

from meet_core.testing import SettingsError, create_app
from meet_telephony import TelephonyPlugin

API = "/api/v1.0"


async def test_a_new_room_gets_a_ten_digit_pin_shown_to_its_owner(kit):
    meet = await kit.app()
    body = await kit.create_room(meet, "Weekly sync")
    assert re.fullmatch(r"\d{10}", body["pin_code"]), body
    assert await kit.pins(meet) == {body["id"]: body["pin_code"]}
    # Not in the core's column: the core knows nothing of PINs.
    room = await meet.create_room("other")
    assert room.pin_code is None


async def test_pin_length_follows_the_setting_and_is_stable(kit):
    meet = await kit.app(ROOM_TELEPHONY_PIN_LENGTH="4")
    body = await kit.create_room(meet, "short pins")
    assert re.fullmatch(r"\d{4}", body["pin_code"])
    again = await meet.client.get(f"{API}/rooms/{body['id']}/")
    assert again.json()["pin_code"] == body["pin_code"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ROOM_TELEPHONY_PIN_LENGTH", "3", "ROOM_TELEPHONY_PIN_LENGTH"),
        ("ROOM_TELEPHONY_PIN_LENGTH", "33", "ROOM_TELEPHONY_PIN_LENGTH"),
        ("ROOM_TELEPHONY_PIN_LENGTH", "ten", "ROOM_TELEPHONY_PIN_LENGTH"),
        ("ROOM_TELEPHONY_PIN_MAX_RETRIES", "0", "ROOM_TELEPHONY_PIN_MAX_RETRIES"),
        ("ROOMKIT_JOIN_THROTTLE_RATES", "often", "invalid throttle rate 'often'"),
    ],
)
def test_bad_pin_settings_stop_the_start_up(meet_env, variable, value, message):
    with pytest.raises(SettingsError, match=message):
        create_app(env={**meet_env, variable: value}, plugins=[TelephonyPlugin])


async def test_pins_are_unique_under_concurrent_creation(kit, database_url):
    """Most 4-digit PINs are taken and rooms are created at once: every draw that collides
    (with a taken PIN, or with a concurrent creation's uncommitted PIN on PostgreSQL) is drawn
    again. SQLite has one writer at a time, so it gets a lighter load."""
    postgres = database_url.startswith("postgresql")
    rooms, free_one_in = (20, 10) if postgres else (8, 2)
    meet = await kit.app(ROOM_TELEPHONY_PIN_LENGTH="4", ROOM_TELEPHONY_PIN_MAX_RETRIES="300")
    taken = [f"{n:04d}" for n in range(10000) if n % free_one_in]
    await kit.take_pins(meet, taken)

    bodies = await asyncio.gather(*(kit.create_room(meet, f"concurrent {i}") for i in range(rooms)))

    pins = [body["pin_code"] for body in bodies]
    assert all(pin and re.fullmatch(r"\d{4}", pin) for pin in pins), pins
    assert len(set(pins)) == rooms
    assert not set(pins) & set(taken)
    stored = await kit.pins(meet)
    assert len(stored) == len(taken) + rooms and len(set(stored.values())) == len(stored)


async def test_no_free_pin_leaves_the_room_without_one(kit):
    meet = await kit.app(ROOM_TELEPHONY_PIN_LENGTH="4", ROOM_TELEPHONY_PIN_MAX_RETRIES="3")
    await kit.take_pins(meet, [f"{n:04d}" for n in range(10000)])
    body = await kit.create_room(meet, "unlucky")  # 201: the room is not lost to the collisions
    assert body["pin_code"] is None
    # ... and such a room never gets a dispatch rule.
    assert (await kit.event(meet, "room_started", body["id"])).status_code == 200
    assert await kit.rules_of(body["id"]) == []
    assert kit.livekit.calls_to("CreateSIPDispatchRule") == []


async def test_a_room_made_before_the_plugin_gets_its_pin_lazily(kit):
    meet = await kit.app()
    owner = await meet.create_user()
    room = await meet.create_room("older room", accesses=[(owner, "owner")])  # no hook ran: no PIN
    assert await kit.pins(meet) == {}
    await meet.login(owner)

    first = (await meet.client.get(f"{API}/rooms/{room.id}/")).json()
    second = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    listed = (await meet.client.get(f"{API}/rooms/")).json()["results"]

    assert re.fullmatch(r"\d{10}", first["pin_code"])
    assert second["pin_code"] == first["pin_code"] == listed[0]["pin_code"]
    assert await kit.pins(meet) == {str(room.id): first["pin_code"]}


@pytest.mark.parametrize(
    ("access_level", "caller", "sees_pin"),
    [
        ("public", "anonymous", True),
        ("trusted", "anonymous", False),
        ("trusted", "stranger", True),
        ("restricted", "stranger", False),
        ("restricted", "member", True),
        ("restricted", "owner", True),
    ],
)
async def test_pin_is_shown_only_to_callers_who_may_join(kit, access_level, caller, sees_pin):
    meet = await kit.app()
    owner, member, stranger = [await meet.create_user() for _ in range(3)]
    room = await meet.create_room(access_level=access_level, accesses=[(owner, "owner"), (member, "member")])
    users = {"owner": owner, "member": member, "stranger": stranger}
    if caller in users:
        await meet.login(users[caller])

    body = (await meet.client.get(f"{API}/rooms/{room.id}/")).json()

    assert ("pin_code" in body) is sees_pin
    if sees_pin:
        assert body["pin_code"] == (await kit.pins(meet))[str(room.id)]


async def test_deleting_a_room_deletes_its_pin(kit):
    meet = await kit.app()
    owner = await meet.create_user()
    await meet.login(owner)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "short-lived"})
    room_id = response.json()["id"]
    assert room_id in await kit.pins(meet)
    assert (await meet.client.delete(f"{API}/rooms/{room_id}/")).status_code == 204
    assert await kit.pins(meet) == {}
