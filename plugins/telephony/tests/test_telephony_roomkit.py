"""``POST /api/v1.0/roomkit/join/`` (api.md §2.12, services.md §4.4)."""

from __future__ import annotations

import pytest

URL = "/api/v1.0/roomkit/join/"
TOKEN = "roomkit-secret-token"
ROOMKIT = {"ROOMKIT_ENABLED": "true", "ROOMKIT_SERVER_TO_SERVER_API_TOKEN": TOKEN}
CHALLENGE = "Bearer realm='Roomkit server to server'"


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_join_ensures_the_rule_and_is_idempotent(kit):
    meet = await kit.app(**ROOMKIT)
    room = await kit.create_room(meet)
    for _ in range(2):
        response = await meet.client.post(URL, json={"pin_code": room["pin_code"]}, headers=bearer())
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "success"}
    [rule] = await kit.rules_of(room["id"])
    assert rule.rule.dispatch_rule_direct.pin == room["pin_code"]
    assert rule.rule.dispatch_rule_direct.room_name == room["id"]
    # The meeting then starts: still one rule.
    await kit.event(meet, "room_started", room["id"])
    assert len(await kit.rules_of(room["id"])) == 1


@pytest.mark.parametrize(
    ("env", "headers", "message"),
    [
        ({"ROOMKIT_ENABLED": "true"}, bearer(), "Server-to-server token is not configured."),
        (ROOMKIT, {}, "Authorization header is missing."),
        (ROOMKIT, {"Authorization": f"bearer {TOKEN}"}, "Invalid authorization header."),
        (ROOMKIT, {"Authorization": "Bearer"}, "Invalid authorization header."),
        (ROOMKIT, {"Authorization": f"Bearer {TOKEN} extra"}, "Invalid authorization header."),
        (ROOMKIT, {"Authorization": f"Token {TOKEN}"}, "Invalid authorization header."),
        (ROOMKIT, bearer("wrong-token"), "Invalid server-to-server token."),
        # Authentication comes before the flag.
        ({"ROOMKIT_SERVER_TO_SERVER_API_TOKEN": TOKEN}, bearer("wrong"), "Invalid server-to-server token."),
    ],
)
async def test_authentication_failures_are_401(kit, env, headers, message):
    meet = await kit.app(**env)
    room = await kit.create_room(meet)
    response = await meet.client.post(URL, json={"pin_code": room["pin_code"]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": message}
    assert response.headers["www-authenticate"] == CHALLENGE
    assert await kit.all_rules() == []


async def test_roomkit_disabled_is_404_after_authentication(kit):
    meet = await kit.app(ROOMKIT_SERVER_TO_SERVER_API_TOKEN=TOKEN)
    room = await kit.create_room(meet)
    response = await meet.client.post(URL, json={"pin_code": room["pin_code"]}, headers=bearer())
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"pin_code": ["This field is required."]}),
        ({"pin_code": None}, {"pin_code": ["This field may not be null."]}),
        ({"pin_code": "  "}, {"pin_code": ["This field may not be blank."]}),
        ({"pin_code": "123"}, {"pin_code": ["PIN code length is invalid."]}),
        ({"pin_code": "12345678901"}, {"pin_code": ["PIN code length is invalid."]}),
        ({"pin_code": ["1234567890"]}, {"pin_code": ["Not a valid string."]}),
    ],
)
async def test_invalid_bodies_are_400(kit, body, errors):
    meet = await kit.app(**ROOMKIT)
    response = await meet.client.post(URL, json=body, headers=bearer())
    assert response.status_code == 400
    assert response.json() == errors


async def test_unknown_pin_is_404(kit):
    meet = await kit.app(**ROOMKIT)
    room = await kit.create_room(meet)
    unknown = "0000000000" if room["pin_code"] != "0000000000" else "0000000001"
    response = await meet.client.post(URL, json={"pin_code": unknown}, headers=bearer())
    assert response.status_code == 404
    assert response.json() == {"detail": "No room found for this PIN code."}
    assert await kit.all_rules() == []


async def test_livekit_failure_is_502_then_a_retry_succeeds(kit):
    meet = await kit.app(**ROOMKIT)
    room = await kit.create_room(meet)
    kit.livekit.fail("ListSIPDispatchRule", code="unavailable", times=1)
    response = await meet.client.post(URL, json={"pin_code": room["pin_code"]}, headers=bearer())
    assert response.status_code == 502
    assert response.json() == {"detail": "Could not create dispatch rule."}
    kit.livekit.fail("CreateSIPDispatchRule", code="internal", times=1)
    response = await meet.client.post(URL, json={"pin_code": room["pin_code"]}, headers=bearer())
    assert response.status_code == 502
    response = await meet.client.post(URL, json={"pin_code": room["pin_code"]}, headers=bearer())
    assert response.status_code == 200
    assert len(await kit.rules_of(room["id"])) == 1


async def test_one_throttle_bucket_for_every_caller(kit):
    meet = await kit.app(**ROOMKIT, ROOMKIT_JOIN_THROTTLE_RATES="2/minute")
    room = await kit.create_room(meet)
    first = await meet.client.post(URL, json={"pin_code": room["pin_code"]}, headers=bearer())
    assert first.status_code == 200
    other_client = meet.new_client()
    async with other_client:  # another caller, another address: same bucket
        headers = {**bearer(), "X-Forwarded-For": "198.51.100.7"}
        assert (await other_client.post(URL, json={"pin_code": "1"}, headers=headers)).status_code == 400
        response = await other_client.post(URL, json={"pin_code": room["pin_code"]}, headers=headers)
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled. Expected available in ")
    assert int(response.headers["retry-after"]) >= 1
    # Unauthenticated calls are refused before they count.
    assert (await meet.client.post(URL, json={}, headers=bearer("bad"))).status_code == 401


async def test_openapi_documents_the_body_and_the_error_answers(kit):
    """The fuzz run found a 400 the document did not list, and no body to send (so no PIN)."""
    meet = await kit.app(**ROOMKIT)
    document = (await meet.client.get("/api/v1.0/swagger.json")).json()
    operation = document["paths"]["/api/v1.0/roomkit/join"]["post"]
    assert {"200", "400", "401", "404", "429", "502"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    body = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    assert body["required"] == ["pin_code"]
