"""``app.state`` holds what ``meet_core.state`` lists, set at build and start-up: no handler adds a key."""

from __future__ import annotations

import uuid

from meet_core.testing import sign_webhook, webhook_body


async def test_serving_requests_adds_no_key_to_app_state(meet_app, livekit):
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30"})
    before = set(meet.app.state.dict())
    assert {"room_cache", "frontend_config", "livekit_verifier", "livekit_webhook"} <= before
    user = await meet.create_user()
    await meet.login(user)
    room = (await meet.client.post("/api/v1.0/rooms/", json={"name": "state probe"})).json()

    assert (await meet.client.get("/api/v1.0/config/")).status_code == 200
    assert (await meet.client.get(f"/api/v1.0/rooms/{room['id']}/")).status_code == 200
    assert (await meet.client.get("/api/v1.0/rooms/not-registered/")).status_code == 200
    mute = await meet.client.post(
        f"/api/v1.0/rooms/{room['id']}/mute-participant/",
        json={"participant_identity": "x", "track_sid": "TR_x"},
        headers={"authorization": "Bearer not-a-token"},
    )
    assert mute.status_code == 403
    body = webhook_body("room_started", id=f"EV_{uuid.uuid4().hex}", room={"name": room["id"]})
    webhook = await meet.client.post(
        "/api/v1.0/rooms/webhooks-livekit/",
        content=body,
        headers={
            "content-type": "application/webhook+json",
            "authorization": sign_webhook(body, livekit.api_key, livekit.api_secret),
        },
    )
    assert webhook.status_code == 200

    assert set(meet.app.state.dict()) == before


async def test_a_zero_ttl_means_no_room_cache(meet_app):
    meet = await meet_app(env={"ROOM_CACHE_TTL": "0"})
    assert meet.app.state.room_cache is None
