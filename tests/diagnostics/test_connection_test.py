"""``POST /api/v1.0/diagnostics/connection/`` and ``meet diagnostics clean`` (api.md §2.11)."""

from __future__ import annotations

import uuid
from typing import Any

import jwt

from meet_core.api import hookimpl
from meet_core.testing import sign_webhook, webhook_body
from meet_core.testing.pytest_plugin import TEST_API_KEY, TEST_API_SECRET

URL = "/api/v1.0/diagnostics/connection/"
ON = {"CONNECTION_TEST_ENABLED": "true"}


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, TEST_API_SECRET, algorithms=["HS256"], issuer=TEST_API_KEY)


async def test_off_by_default_404_and_get_is_405(meet_app):
    meet = await meet_app()
    response = await meet.client.post(URL)
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    response = await meet.client.get(URL)
    assert (response.status_code, response.json()) == (405, {"detail": 'Method "GET" not allowed.'})


async def test_anonymous_caller_gets_a_short_token_for_a_fresh_room(meet_app, livekit):
    meet = await meet_app(env=ON)
    rooms = set()
    for _ in range(2):
        response = await meet.client.post(URL)
        assert response.status_code == 200, response.text
        body = response.json()
        assert list(body) == ["livekit"]
        livekit_config = body["livekit"]
        assert sorted(livekit_config) == ["expires_in", "room", "token", "url"]
        assert livekit_config["url"] == livekit.url
        assert livekit_config["expires_in"] == 300
        room = livekit_config["room"]
        prefix, _, suffix = room.partition("connection-test-")
        assert prefix == "" and uuid.UUID(suffix).version == 4
        claims = _claims(livekit_config["token"])
        assert claims["exp"] - claims["nbf"] == 300
        assert claims["name"] == "Connection Test"
        assert claims["video"]["room"] == room
        assert claims["video"]["roomAdmin"] is False
        assert claims["video"]["canPublishSources"] == [
            "camera", "microphone", "screen_share", "screen_share_audio",
        ]  # fmt: skip
        assert claims["attributes"]["room_role"] is None
        assert claims["attributes"]["is_authenticated"] == "false"
        rooms.add(room)
    assert len(rooms) == 2
    # Only a token is minted: LiveKit creates the room when the browser joins.
    assert livekit.calls_to("CreateRoom") == []


async def test_logged_in_caller_keeps_their_identity(meet_app):
    meet = await meet_app(
        env={**ON, "CONNECTION_TEST_TOKEN_TTL_SECONDS": "60",
             "AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME": "false"}
    )  # fmt: skip
    user = await meet.create_user(sub="diag-sub", full_name="Dana Diag")
    await meet.login(user)
    response = await meet.client.post(URL)
    assert response.status_code == 200, response.text
    assert response.json()["livekit"]["expires_in"] == 60
    claims = _claims(response.json()["livekit"]["token"])
    assert claims["sub"] == "diag-sub"
    assert claims["name"] == "Dana Diag"  # the display-name rule applies
    assert claims["exp"] - claims["nbf"] == 60
    assert claims["attributes"]["is_authenticated"] == "true"


async def test_throttled_per_ip(meet_app):
    meet = await meet_app(env={**ON, "CONNECTION_TEST_THROTTLE_RATES": "2/minute"})
    for _ in range(2):
        assert (await meet.client.post(URL)).status_code == 200
    response = await meet.client.post(URL)
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled. Expected available in ")
    assert int(response.headers["Retry-After"]) >= 1
    # Another address has its own window.
    async with meet.new_client(peer="127.0.0.2") as other:
        assert (await other.post(URL)).status_code == 200


async def test_webhooks_of_its_rooms_are_ignored(meet_app, livekit):
    calls: list[str] = []

    class Recorder:
        name = "recorder"

        @hookimpl
        def meet_livekit_event(self, event: Any) -> None:
            calls.append(event.room.name)

    meet = await meet_app(env=ON, plugins=[Recorder])
    room = (await meet.client.post(URL)).json()["livekit"]["room"]
    for index, name in enumerate((room, "regular-room")):
        body = webhook_body("room_started", id=f"EV_diag_{index}_{uuid.uuid4().hex[:6]}", room={"name": name})
        response = await meet.client.post(
            "/api/v1.0/rooms/webhooks-livekit/",
            content=body,
            headers={"authorization": sign_webhook(body, TEST_API_KEY, TEST_API_SECRET)},
        )
        assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert calls == ["regular-room"]


def test_clean_deletes_expired_test_rooms_only(meet_cli, livekit):
    env = {"CONNECTION_TEST_TOKEN_TTL_SECONDS": "60", "CONNECTION_TEST_ROOM_EXTRA_AGE_SECONDS": "0"}
    old = f"connection-test-{uuid.uuid4()}"
    livekit.add_room(old, age=61)
    livekit.add_room("abc-defg-hij", age=3600)  # an unregistered room: never touched
    livekit.add_room("connection-testing", age=3600)  # the prefix without its dash: not a test room
    fresh = f"connection-test-{uuid.uuid4()}"
    livekit.add_room(fresh, age=30)
    output = meet_cli("diagnostics", "clean", env=env)
    assert f"deleted {old}" in output
    assert "1 connection-test room(s) deleted" in output
    assert livekit.room(old) is None
    for kept in (fresh, "abc-defg-hij", "connection-testing"):
        assert livekit.room(kept) is not None
    assert [call.request.room for call in livekit.calls_to("DeleteRoom")] == [old]
    # Nothing left to do: a second run deletes nothing.
    assert "0 connection-test room(s) deleted" in meet_cli("diagnostics", "clean", env=env)


def test_clean_reports_a_livekit_failure(meet_cli, livekit):
    livekit.set_down()
    output = meet_cli("diagnostics", "clean", expect_exit=1)
    assert "LiveKit failed" in output
