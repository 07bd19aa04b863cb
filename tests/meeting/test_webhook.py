"""LiveKit webhook: signature checks, filters, event types, plugin dispatch and replays."""

from __future__ import annotations

import base64
import hashlib
import time
import warnings
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from livekit.api import WebhookEvent

from meet_core.plugins.hookspecs import hookimpl
from meet_core.testing.webhooks import sign_webhook, webhook_body

URL = "/api/v1.0/rooms/webhooks-livekit/"
EVENT_TYPES = [
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "track_published",
    "track_unpublished",
    "egress_started",
    "egress_updated",
    "egress_ended",
    "ingress_started",
    "ingress_ended",
]


class Recorder:
    """A plugin recording every event it receives."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []

    @hookimpl
    async def meet_livekit_event(self, request: Any, event: WebhookEvent) -> None:
        self.events.append(event)


class Failing:
    """A plugin that always fails: it must neither stop the others nor the answer."""

    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def meet_livekit_event(self, request: Any, event: WebhookEvent) -> None:
        self.calls += 1
        raise RuntimeError("plugin bug")


async def post(meet: Any, body: bytes, auth: str | None) -> Any:
    headers = {"content-type": "application/webhook+json"}
    if auth is not None:
        headers["authorization"] = auth
    return await meet.client.post(URL, content=body, headers=headers)


def _signed(livekit: Any, body: bytes) -> str:
    return sign_webhook(body, livekit.api_key, livekit.api_secret)


def _event(event: str, room: str = "0b7a2f2e-7c33-4f5e-9d7b-8b9d9a3c1f00", **fields: Any) -> bytes:
    return webhook_body(
        event, id=fields.pop("id", f"EV_{event}_{time.time_ns()}"), room={"name": room}, **fields
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
async def test_each_event_reaches_every_plugin_despite_a_failing_one(meet_app, livekit, event_type):
    recorder, failing = Recorder(), Failing()
    meet = await meet_app(plugins=[failing, recorder])
    body = _event(event_type, id="EV_one")
    response = await post(meet, body, _signed(livekit, body))
    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert failing.calls == 1
    assert [e.event for e in recorder.events] == [event_type]
    assert recorder.events[0].id == "EV_one"
    assert recorder.events[0].room.name == "0b7a2f2e-7c33-4f5e-9d7b-8b9d9a3c1f00"


async def test_unregistered_slug_room_is_a_normal_case(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    for event_type in ("room_started", "room_finished"):
        body = _event(event_type, room="my-unregistered-room")
        response = await post(meet, body, _signed(livekit, body))
        assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert [e.event for e in recorder.events] == ["room_started", "room_finished"]


async def test_egress_room_name_is_used_for_filtering(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(env={"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX": "^keep-"}, plugins=[recorder])
    body = webhook_body(
        "egress_updated", id="EV_eg", egress_info={"egress_id": "EG_1", "room_name": "keep-1"}
    )
    response = await post(meet, body, _signed(livekit, body))
    assert (response.status_code, response.json()) == (200, {"status": "success"})
    body = webhook_body(
        "egress_updated", id="EV_eg2", egress_info={"egress_id": "EG_2", "room_name": "drop-1"}
    )
    response = await post(meet, body, _signed(livekit, body))
    assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert [e.egress_info.egress_id for e in recorder.events] == ["EG_1"]


async def test_replayed_event_is_processed_once(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    body = _event("participant_joined", id="EV_replayed")
    for _ in range(3):
        response = await post(meet, body, _signed(livekit, body))
        assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert len(recorder.events) == 1
    other = _event("participant_joined", id="EV_other")
    await post(meet, other, _signed(livekit, other))
    assert [e.id for e in recorder.events] == ["EV_replayed", "EV_other"]


async def test_replay_memory_has_the_configured_ttl(meet_app, livekit, valkey_server):
    meet = await meet_app(env={"LIVEKIT_WEBHOOK_REPLAY_TTL": "120"})
    body = _event("room_started", id="EV_ttl")
    assert (await post(meet, body, _signed(livekit, body))).status_code == 200
    from meet_core.state import valkey_client

    ttl = await valkey_client(meet.app).ttl("livekit-webhook:EV_ttl")
    assert 100 < ttl <= 120


async def test_event_without_id_is_always_dispatched(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    body = webhook_body("room_started", room={"name": "r"})
    for _ in range(2):
        assert (await post(meet, body, _signed(livekit, body))).status_code == 200
    assert len(recorder.events) == 2


async def test_missing_authorization_is_401(meet_app):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    response = await post(meet, _event("room_started"), None)
    assert (response.status_code, response.json()) == (401, {"status": "error"})
    assert recorder.events == []


def _quietly(sign: Any, *args: Any, **kwargs: Any) -> str:
    """PyJWT warns that the test secret is short for HS512: the token is refused anyway."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return sign(*args, **kwargs)


def _claims_token(body: bytes, key: str, secret: str, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": key,
        "nbf": now - 10,
        "exp": now + 600,
        "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "video": {},
    }
    algorithm = overrides.pop("algorithm", "HS256")
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong_key",
        "wrong_secret",
        "expired",
        "body_changed",
        "no_hash",
        "bearer_prefix",
        "garbage",
        "none_alg",
        "no_exp",
        "future_nbf",
        "audience",
        "no_issuer",
        "hs512",
    ],
)
async def test_bad_signature_is_400(meet_app, livekit, tamper):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    body = _event("room_started")
    key, secret = livekit.api_key, livekit.api_secret
    auth = {
        "wrong_key": lambda: sign_webhook(body, "otherkey", secret),
        "wrong_secret": lambda: sign_webhook(body, key, "another-secret-that-is-long-enough-for-hs256"),
        "expired": lambda: _claims_token(
            body, key, secret, nbf=int(time.time()) - 900, exp=int(time.time()) - 120
        ),
        "body_changed": lambda: sign_webhook(body + b" ", key, secret),
        "no_hash": lambda: _claims_token(body, key, secret, sha256=""),
        "bearer_prefix": lambda: "Bearer " + sign_webhook(body, key, secret),
        "garbage": lambda: "not-a-jwt",
        "none_alg": lambda: jwt.encode({"iss": key, "exp": int(time.time()) + 60}, "", algorithm="none"),
        "no_exp": lambda: _claims_token(body, key, secret, exp=None),
        "future_nbf": lambda: _claims_token(body, key, secret, nbf=int(time.time()) + 300),
        "audience": lambda: _claims_token(body, key, secret, aud="someone-else"),
        "no_issuer": lambda: _claims_token(body, key, secret, iss=None),
        "hs512": lambda: _quietly(_claims_token, body, key, secret, algorithm="HS512"),
    }[tamper]()
    response = await post(meet, body, auth)
    assert (response.status_code, response.json()) == (400, {"status": "error"})
    assert recorder.events == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"event": 12}', b"\xff\xfe", b""])
async def test_malformed_body_is_400(meet_app, livekit, body):
    meet = await meet_app()
    response = await post(meet, body, _signed(livekit, body))
    assert (response.status_code, response.json()) == (400, {"status": "error"})


async def test_unknown_fields_are_ignored(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    body = b'{"event": "room_started", "id": "EV_x", "room": {"name": "r"}, "somethingNew": 1}'
    response = await post(meet, body, _signed(livekit, body))
    assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert len(recorder.events) == 1


@pytest.mark.parametrize("event_type", ["room_moved", "", "participant_connection_aborted"])
async def test_unknown_event_type_is_422(meet_app, livekit, event_type):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    body = _event(event_type)
    response = await post(meet, body, _signed(livekit, body))
    assert (response.status_code, response.json()) == (422, {"status": "error"})
    assert recorder.events == []


async def test_connection_test_rooms_are_skipped_before_the_type_check(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    for event_type in ("room_started", "room_moved"):
        body = _event(event_type, room="connection-test-3f1c")
        response = await post(meet, body, _signed(livekit, body))
        assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert recorder.events == []


async def test_connection_test_prefix_is_configurable(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(env={"CONNECTION_TEST_ROOM_PREFIX": "diag-"}, plugins=[recorder])
    for room in ("diag-1", "connection-test-1"):
        body = _event("room_started", room=room)
        assert (await post(meet, body, _signed(livekit, body))).status_code == 200
    assert [e.room.name for e in recorder.events] == ["connection-test-1"]


async def test_filter_regex_skips_non_matching_rooms_before_the_type_check(meet_app, livekit):
    recorder = Recorder()
    uuid_regex = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    meet = await meet_app(env={"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX": uuid_regex}, plugins=[recorder])
    body = _event("room_moved", room="slug-room")
    response = await post(meet, body, _signed(livekit, body))
    assert (response.status_code, response.json()) == (200, {"status": "success"})
    body = _event("room_started", room="slug-room")
    assert (await post(meet, body, _signed(livekit, body))).status_code == 200
    body = _event("room_started")
    assert (await post(meet, body, _signed(livekit, body))).status_code == 200
    assert [e.room.name for e in recorder.events] == ["0b7a2f2e-7c33-4f5e-9d7b-8b9d9a3c1f00"]


async def test_invalid_filter_regex_disables_filtering(meet_app, livekit):
    recorder = Recorder()
    meet = await meet_app(env={"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX": "(unclosed"}, plugins=[recorder])
    body = _event("room_started", room="anything")
    response = await post(meet, body, _signed(livekit, body))
    assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert len(recorder.events) == 1


async def test_get_is_405(meet_app):
    meet = await meet_app()
    response = await meet.client.get(URL)
    assert response.status_code == 405


async def test_routes_are_in_the_openapi_schema(meet_app):
    meet = await meet_app()
    response = await meet.client.get("/api/v1.0/swagger.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1.0/rooms/webhooks-livekit",
        "/api/v1.0/rooms/creation-callback",
        "/api/v1.0/rooms/{room_key}/mute-participant",
        "/api/v1.0/rooms/{room_key}/update-participant",
        "/api/v1.0/rooms/{room_key}/remove-participant",
        "/api/v1.0/rooms/{room_key}/update-participant-role",
        "/api/v1.0/rooms/{room_key}/toggle-hand",
        "/api/v1.0/rooms/{room_key}/rename",
        "/api/v1.0/rooms/{room_key}/invite",
    ):
        assert "post" in paths[path], path
