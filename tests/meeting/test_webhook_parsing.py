"""The webhook's own reading of LiveKit's JSON (meet_core/meeting/event_json.py) against
protobuf's ``json_format.Parse``, the reference it replaces: the same event, or a refusal
where Parse refuses. Then the same shapes through the endpoint."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import Parse
from livekit.api import WebhookEvent

from meet_core.meeting.event_json import parse_event
from meet_core.testing.webhooks import sign_webhook
from tests.meeting.test_webhook import URL, Recorder

ROOM = "0b7a2f2e-7c33-4f5e-9d7b-8b9d9a3c1f00"


def reference(body: str) -> WebhookEvent:
    """What the webhook did before: protobuf's parser, refusing a body that is not an object."""
    if not body.lstrip().startswith("{"):
        raise ValueError("not an object")
    return Parse(body, WebhookEvent(), ignore_unknown_fields=True)


def outcome(parse: Any, body: str) -> tuple[str, bytes]:
    try:
        event = parse(body)
    except Exception:
        return ("refused", b"")
    return ("event", event.SerializeToString(deterministic=True))


JUNK: list[Any] = [
    None, 0, -1, 7, 2**40, 2**70, -(2**70), 1.5, 3.0, 1e300, True, False, "", "x", "12", "-3",
    " 5", "1e3", "+4", "NaN", "\ud800", "\ud83d\ude00", [], [1], {}, {"a": 1}, "AUDIO", "VIDEO",
]  # fmt: skip


def valid_scalar(field: FieldDescriptor, rng: random.Random) -> Any:
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        return rng.choice(["", "abc", ROOM, "é€😀", "sp ace"])
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return rng.choice([True, False])
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        return rng.choice([v.name for v in field.enum_type.values])
    if cpp in (FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE):
        return rng.choice([0, 1, 2.5, -0.25])
    value = rng.choice([0, 1, 42, 1_700_000_000])
    return str(value) if rng.random() < 0.5 else value


def value_for(field: FieldDescriptor, rng: random.Random, depth: int) -> Any:
    if rng.random() < 0.04:
        return rng.choice(JUNK)
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        return {rng.choice(["k", "key", "\ud800"]): valid_scalar(entry.fields_by_name["value"], rng)}
    if field.is_repeated:
        return [single(field, rng, depth) for _ in range(rng.randint(0, 2))]
    return single(field, rng, depth)


def single(field: FieldDescriptor, rng: random.Random, depth: int) -> Any:
    if field.message_type is not None:
        return message(field.message_type, rng, depth + 1)
    return valid_scalar(field, rng)


def message(descriptor: Descriptor, rng: random.Random, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if depth > 3:
        return out
    for field in rng.sample(list(descriptor.fields), k=min(len(descriptor.fields), rng.randint(0, 6))):
        key = field.json_name if rng.random() < 0.8 else field.name
        out[key] = value_for(field, rng, depth)
        if rng.random() < 0.03:  # the same field under its other name
            out[field.name if key == field.json_name else field.json_name] = value_for(field, rng, depth)
    if rng.random() < 0.1:
        out[rng.choice(["somethingNew", "[ext.name]", "@type"])] = rng.choice(JUNK)
    return out


def test_random_events_read_as_protobuf_reads_them():
    """Two thousand random bodies (fields under both names, junk values, nested messages, maps,
    enums, oneofs): each is read to the same message as protobuf's parser, or refused by both."""
    rng = random.Random(18)
    fast = 0
    for _ in range(2000):
        js = message(WebhookEvent.DESCRIPTOR, rng, 0)
        js.setdefault("event", "participant_joined")
        body = json.dumps(js)
        assert outcome(parse_event, body) == outcome(reference, body), body
        fast += outcome(reference, body)[0] == "event"
    assert fast > 1000  # most of them are events, not refusals


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        "[{}]",
        '"text"',
        "12",
        "null",
        '{"event": "room_started", "event": "room_finished"}',  # a duplicate key
        '{"event": "room_started", "room": {"name": "a", "name": "b"}}',
        '{"event": "room_started", "room": 5}',
        '{"event": "room_started", "room": {"maxParticipants": -1}}',
        '{"event": "room_started", "createdAt": "12 "}',
        '{"event": "room_started", "createdAt": "99999999999999999999"}',
        '{"event": "room_started", "room": {"name": "\\ud800"}}',
        '{"event": "room_started", "numDropped": NaN}',
        '{"event": "room_started"',
    ],
)
def test_bodies_refused_as_before(body):
    assert outcome(reference, body) == ("refused", b"")
    assert outcome(parse_event, body) == ("refused", b"")


def test_a_full_livekit_event_reads_as_protobuf_reads_it():
    body = json.dumps(
        {
            "event": "egress_ended",
            "id": "EV_1",
            "createdAt": "1700000000",
            "numDropped": 0,
            "room": {
                "sid": "RM_1",
                "name": ROOM,
                "emptyTimeout": 300,
                "creationTime": "1700000000",
                "enabledCodecs": [{"mime": "video/VP8"}, {"mime": "audio/opus"}],
            },
            "participant": {
                "sid": "PA_1",
                "identity": "u",
                "state": "ACTIVE",
                "joinedAt": 1700000000,
                "attributes": {"role": "admin"},
                "permission": {"canPublish": True},
                "tracks": [{"sid": "TR_1", "type": "AUDIO", "source": "MICROPHONE"}],
                "kind": "STANDARD",
                "kindDetails": [],
                "clientProtocol": 1,
            },
            "egressInfo": {
                "egressId": "EG_1",
                "roomName": ROOM,
                "status": "EGRESS_COMPLETE",
                "roomComposite": {"roomName": ROOM, "layout": "speaker"},
                "fileResults": [{"filename": "a.mp4", "size": "1024", "duration": "5"}],
                "updatedAt": "1700000001",
                "somethingNew": {"x": 1},
            },
            "ingressInfo": {"state": {"status": "ENDPOINT_INACTIVE"}},
        }
    )
    event = parse_event(body)
    assert event == reference(body)
    assert event.egress_info.file_results[0].size == 1024
    assert event.participant.attributes["role"] == "admin"
    assert event.egress_info.WhichOneof("request") == "room_composite"


async def post(meet: Any, livekit: Any, body: bytes) -> Any:
    headers = {"content-type": "application/webhook+json"}
    headers["authorization"] = sign_webhook(body, livekit.api_key, livekit.api_secret)
    return await meet.client.post(URL, content=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": "room_started", "event": "room_finished", "id": "EV_dup"}',
        b'{"event": "room_started", "id": "EV_r", "room": 5}',
        b'{"event": "room_started", "id": "EV_s", "room": {"name": "\\ud800"}}',
        b"null",
        b'"room_started"',
    ],
)
async def test_the_endpoint_refuses_what_protobuf_refused(meet_app, livekit, body):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    response = await post(meet, livekit, body)
    assert (response.status_code, response.json()) == (400, {"status": "error"})
    assert recorder.events == []


async def test_plugins_receive_the_event_protobuf_would_give(meet_app, livekit):
    """Unknown fields (new in LiveKit) are ignored; a rare shape (a null, an enum by number)
    takes protobuf's own path; both reach the plugins as a ``WebhookEvent``."""
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    bodies = [
        '{"event": "participant_joined", "id": "EV_a", "room": {"name": "%s", "newThing": [1]},'
        ' "participant": {"identity": "u1", "state": "ACTIVE", "attributes": {"k": "v"}}, "later": {}}',
        '{"event": "participant_left", "id": "EV_b", "room": {"name": "%s"}, "track": null,'
        ' "participant": {"identity": "u2", "state": 3, "kind": "NOT_A_KIND"}}',
    ]
    for text in bodies:
        body = (text % ROOM).encode()
        response = await post(meet, livekit, body)
        assert (response.status_code, response.json()) == (200, {"status": "success"})
    assert recorder.events == [reference(text % ROOM) for text in bodies]
    assert all(type(event) is WebhookEvent for event in recorder.events)
    assert recorder.events[0].participant.attributes["k"] == "v"
    assert recorder.events[1].participant.state == 3
