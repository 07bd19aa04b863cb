"""POST /rooms/creation-callback/: the one-time read of a new room's slug, and its throttle."""

from __future__ import annotations

from typing import Any

from meet_core.rooms import creation_callback

URL = "/api/v1.0/rooms/creation-callback/"


class _Holder:
    """What ``creation_callback.remember`` needs: something with the app."""

    def __init__(self, app: Any) -> None:
        self.app = app


async def test_room_creation_hands_its_slug_over_once(meeting):
    async with await meeting.client_as("owner") as client:
        response = await client.post("/api/v1.0/rooms/", json={"name": "Weekly Sync", "callback_id": "cb-42"})
        assert response.status_code == 201, response.text
        slug = response.json()["slug"]
    async with meeting.meet.new_client() as anonymous:
        response = await anonymous.post(URL, json={"callback_id": "cb-42"})
        assert (response.status_code, response.json()) == (200, {"status": "success", "room": {"slug": slug}})
        response = await anonymous.post(URL, json={"callback_id": "cb-42"})
        assert (response.status_code, response.json()) == (200, {"status": "success", "room": {}})


async def test_unknown_callback_id(meet_app):
    meet = await meet_app()
    response = await meet.client.post(URL, json={"callback_id": "nothing-here"})
    assert (response.status_code, response.json()) == (200, {"status": "success", "room": {}})


async def test_remembered_with_the_configured_ttl(meet_app):
    meet = await meet_app(env={"ROOM_CREATION_CALLBACK_CACHE_TIMEOUT": "30"})
    await creation_callback.remember(_Holder(meet.app), "cb-1", "abc-defg-hij")  # type: ignore[arg-type]
    from meet_core.state import valkey_client

    assert 0 < await valkey_client(meet.app).ttl("room-creation-callback_cb-1") <= 30
    response = await meet.client.post(URL, json={"callback_id": "cb-1"})
    assert response.json() == {"status": "success", "room": {"slug": "abc-defg-hij"}}


async def test_callback_id_is_required(meet_app):
    meet = await meet_app()
    for body, errors in (
        ({}, {"callback_id": ["This field is required."]}),
        ({"callback_id": ""}, {"callback_id": ["This field may not be blank."]}),
        ({"callback_id": None}, {"callback_id": ["This field may not be null."]}),
    ):
        response = await meet.client.post(URL, json=body)
        assert (response.status_code, response.json()) == (400, errors)


async def test_static_path_wins_over_the_room_key(meeting):
    """``/rooms/creation-callback`` and ``/rooms/{key}`` coexist; other methods are a 405."""
    async with meeting.meet.new_client() as client:
        response = await client.get(URL)
        assert (response.status_code, response.json()) == (405, {"detail": 'Method "GET" not allowed.'})
        response = await client.get("/api/v1.0/rooms/webhooks-livekit/")
        assert response.status_code == 405
        response = await client.get(f"/api/v1.0/rooms/{meeting.room.id}/")
        assert response.status_code == 200
        assert response.json()["slug"] == meeting.room.slug


async def test_anonymous_callers_are_throttled_by_ip(meet_app):
    # The test client's peer (127.0.0.1) is a trusted proxy: X-Forwarded-For names the client.
    meet = await meet_app(
        env={"CREATION_CALLBACK_THROTTLE_RATES": "3/minute", "TRUSTED_PROXIES": "127.0.0.1"}
    )
    for _ in range(3):
        assert (await meet.client.post(URL, json={"callback_id": "x"})).status_code == 200
    response = await meet.client.post(URL, json={"callback_id": "x"})
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= 60
    plural = "s" if retry_after != 1 else ""
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {retry_after} second{plural}."
    }
    # another forwarded address has its own bucket
    response = await meet.client.post(URL, json={"callback_id": "x"}, headers={"X-Forwarded-For": "10.0.0.9"})
    assert response.status_code == 200


async def test_logged_in_users_are_not_throttled(meet_app):
    meet = await meet_app(env={"CREATION_CALLBACK_THROTTLE_RATES": "1/minute"})
    user = await meet.create_user()
    await meet.login(user)
    for _ in range(3):
        assert (await meet.client.post(URL, json={"callback_id": "x"})).status_code == 200


async def test_throttle_holds_across_app_instances(meet_app):
    """Two workers share one Valkey: the bucket is shared."""
    env = {"CREATION_CALLBACK_THROTTLE_RATES": "2/minute"}
    first, second = await meet_app(env=env), await meet_app(env=env)
    assert (await first.client.post(URL, json={"callback_id": "x"})).status_code == 200
    assert (await second.client.post(URL, json={"callback_id": "x"})).status_code == 200
    assert (await first.client.post(URL, json={"callback_id": "x"})).status_code == 429
