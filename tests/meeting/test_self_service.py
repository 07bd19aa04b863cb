"""toggle-hand and rename: LiveKit-token endpoints acting on the token's own identity."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

SUCCESS = {"status": "success"}


async def call(meeting: Any, action: str, body: Any, identity: str = "guest-1") -> Any:
    async with meeting.meet.new_client() as client:
        return await client.post(
            f"/api/v1.0/rooms/{meeting.room.id}/{action}/", json=body, headers=meeting.bearer(identity)
        )


async def test_raise_and_lower_hand(meeting, livekit):
    livekit.add_participant(meeting.name, "guest-1", metadata="keep")
    before = datetime.datetime.now(datetime.UTC)
    response = await call(meeting, "toggle-hand", {"raised": True})
    assert (response.status_code, response.json()) == (200, SUCCESS)
    request = livekit.last_call("UpdateParticipant").request
    assert (request.room, request.identity, request.metadata, request.name) == (
        meeting.name,
        "guest-1",
        "",
        "",
    )
    raised_at = request.attributes["handRaisedAt"]
    assert raised_at.endswith("+00:00")
    assert before <= datetime.datetime.fromisoformat(raised_at) <= datetime.datetime.now(datetime.UTC)
    assert livekit.participant(meeting.name, "guest-1").attributes["handRaisedAt"] == raised_at

    response = await call(meeting, "toggle-hand", {"raised": False})
    assert (response.status_code, response.json()) == (200, SUCCESS)
    assert dict(livekit.last_call("UpdateParticipant").request.attributes) == {"handRaisedAt": ""}
    stored = livekit.participant(meeting.name, "guest-1")
    assert "handRaisedAt" not in stored.attributes
    assert stored.metadata == "keep"  # never overwritten with "null"


async def test_toggle_hand_body(meeting, livekit):
    for body, errors in (
        ({}, {"raised": ["This field is required."]}),
        ({"raised": None}, {"raised": ["This field may not be null."]}),
        ({"raised": "maybe"}, {"raised": ["Must be a valid boolean."]}),
        ({"raised": [True]}, {"raised": ["Must be a valid boolean."]}),
    ):
        response = await call(meeting, "toggle-hand", body)
        assert (response.status_code, response.json()) == (400, errors)
    assert livekit.calls == []


async def test_toggle_hand_accepts_drf_booleans(meeting, livekit):
    livekit.add_participant(meeting.name, "guest-1")
    assert (await call(meeting, "toggle-hand", {"raised": "true"})).status_code == 200
    assert livekit.last_call("UpdateParticipant").request.attributes["handRaisedAt"] != ""
    assert (await call(meeting, "toggle-hand", {"raised": 0})).status_code == 200
    assert livekit.last_call("UpdateParticipant").request.attributes["handRaisedAt"] == ""


async def test_toggle_hand_errors(meeting, livekit):
    response = await call(meeting, "toggle-hand", {"raised": True})
    assert (response.status_code, response.json()) == (404, {"error": "Participant not found"})
    livekit.add_participant(meeting.name, "guest-1")
    livekit.fail("UpdateParticipant", code="internal")
    response = await call(meeting, "toggle-hand", {"raised": True})
    assert (response.status_code, response.json()) == (
        502,
        {"error": "Failed to update participant hand state"},
    )


async def test_self_service_needs_a_token(meeting, livekit):
    for action in ("toggle-hand", "rename"):
        async with await meeting.client_as("owner") as client:  # a session is not enough
            response = await client.post(
                f"/api/v1.0/rooms/{meeting.room.id}/{action}/", json={"raised": True}
            )
        assert (response.status_code, response.json()) == (
            403,
            {"detail": "Authentication credentials were not provided."},
        )


async def test_self_service_unknown_room(meeting, livekit):
    async with meeting.meet.new_client() as client:
        response = await client.post(
            "/api/v1.0/rooms/unknown/rename/", json={"name": "x"}, headers=meeting.bearer("guest-1")
        )
    assert (response.status_code, response.json()) == (404, {"detail": "No Room matches the given query."})


async def test_rename(meeting, livekit):
    livekit.add_participant(meeting.name, "guest-1", name="Old", metadata="keep")
    response = await call(meeting, "rename", {"name": "  New Name  "})
    assert (response.status_code, response.json()) == (200, SUCCESS)
    request = livekit.last_call("UpdateParticipant").request
    assert (request.room, request.identity, request.name, request.metadata) == (
        meeting.name,
        "guest-1",
        "New Name",
        "",
    )
    assert dict(request.attributes) == {}
    assert livekit.participant(meeting.name, "guest-1").name == "New Name"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": "   "}, {"name": ["This field may not be blank."]}),
        ({"name": "x" * 256}, {"name": ["Ensure this field has no more than 255 characters."]}),
        ({"name": {"x": 1}}, {"name": ["Not a valid string."]}),
    ],
)
async def test_rename_body(meeting, livekit, body, errors):
    response = await call(meeting, "rename", body)
    assert (response.status_code, response.json()) == (400, errors)


async def test_rename_errors(meeting, livekit):
    response = await call(meeting, "rename", {"name": "X"})
    assert (response.status_code, response.json()) == (404, {"error": "Participant not found"})
    livekit.add_participant(meeting.name, "guest-1")
    livekit.fail("UpdateParticipant", code="unavailable")
    response = await call(meeting, "rename", {"name": "X"})
    assert (response.status_code, response.json()) == (502, {"error": "Failed to rename participant"})


async def test_rename_follows_the_display_name_setting(make_meeting_app, livekit):
    meeting = await make_meeting_app(env={"AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME": "false"})
    livekit.add_participant(meeting.name, meeting.member.sub, name="Member")
    response = await call(meeting, "rename", {"name": "Someone Else"}, identity=meeting.member.sub)
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Logged-in participants may not change their display name."},
    )
    assert livekit.calls_to("UpdateParticipant") == []
    # anonymous participants still may
    livekit.add_participant(meeting.name, "guest-1")
    response = await call(meeting, "rename", {"name": "Guest"})
    assert (response.status_code, response.json()) == (200, SUCCESS)
