"""With the plugin disabled or not enabled: no PIN, no routes, no rules, the core's defaults."""

from __future__ import annotations

import re

from meet_telephony.models import RoomPin  # noqa: F401  (its table exists, as after a migration)

API = "/api/v1.0"


async def test_disabled_plugin_adds_nothing(kit, meet_app):
    meet = await meet_app(env={"ROOMKIT_ENABLED": "true", "ROOMKIT_SERVER_TO_SERVER_API_TOKEN": "t"})
    room = await kit.create_room(meet)
    assert room["pin_code"] is None  # the core's key stays, null
    assert await kit.pins(meet) == {}

    response = await meet.client.post(
        f"{API}/roomkit/join/", json={"pin_code": "0123456789"}, headers={"Authorization": "Bearer t"}
    )
    assert response.status_code == 404

    config = (await meet.client.get(f"{API}/config/")).json()
    assert config["telephony"] == {"enabled": False}  # the core's disabled default

    assert (await kit.event(meet, "room_started", room["id"])).status_code == 200
    assert await kit.all_rules() == []


async def test_the_old_flag_enables_the_installed_plugin(meet_app, kit):
    """Entry-point discovery as in production: ``ROOM_TELEPHONY_ENABLED`` without ``MEET_PLUGINS``."""
    meet = await meet_app(
        env={"ROOM_TELEPHONY_ENABLED": "true", "ROOM_TELEPHONY_PHONE_NUMBER": "+33123456789"}, plugins=None
    )
    config = (await meet.client.get(f"{API}/config/")).json()
    assert config["telephony"] == {
        "enabled": True,
        "default_country": "FR",
        "international_phone_number": "+33 1 23 45 67 89",
    }
    room = await kit.create_room(meet)
    assert re.fullmatch(r"\d{10}", room["pin_code"])


async def test_meet_plugins_without_telephony_ignores_the_old_flag(meet_app, kit):
    meet = await meet_app(env={"ROOM_TELEPHONY_ENABLED": "true", "MEET_PLUGINS": "lobby"}, plugins=None)
    room = await kit.create_room(meet)
    assert room["pin_code"] is None
    assert (await meet.client.get(f"{API}/config/")).json()["telephony"] == {"enabled": False}
