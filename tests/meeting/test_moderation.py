"""mute-participant, update-participant, remove-participant: callers, bodies, LiveKit calls, errors."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from livekit.protocol import models

from meet_core.plugins.hookspecs import hookimpl

NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
NOT_ALLOWED = {"detail": "You do not have permission to perform this action."}
NO_PRIVILEGES = {"detail": "You must have privileges on room to perform this action."}
SUCCESS = {"status": "success"}


def url(meeting: Any, action: str, key: str | None = None) -> str:
    return f"/api/v1.0/rooms/{key or meeting.room.id}/{action}/"


async def call(meeting: Any, who: str, action: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    async with await meeting.client_as(who) as client:
        return await client.post(url(meeting, action), json=body, headers=headers or {})


def with_camera(meeting: Any, identity: str = "target") -> str:
    """Put ``identity`` in the LiveKit room with a camera track; return the track sid."""
    info = meeting.livekit.add_participant(meeting.name, identity, name="Target", tracks=["camera"])
    return str(info.tracks[0].sid)


# ------------------------------------------------------------------------------ mute-participant


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_mute_by_session_administrator(meeting, livekit, who):
    sid = with_camera(meeting)
    response = await call(
        meeting, who, "mute-participant", {"participant_identity": "target", "track_sid": sid}
    )
    assert (response.status_code, response.json()) == (200, SUCCESS)
    request = livekit.last_call("MutePublishedTrack").request
    assert (request.room, request.identity, request.track_sid, request.muted) == (
        meeting.name,
        "target",
        sid,
        True,
    )
    assert livekit.participant(meeting.name, "target").tracks[0].muted is True
    assert livekit.calls_to("GetParticipant") == []  # session callers are not presence-checked


async def test_mute_by_room_slug(meeting, livekit):
    sid = with_camera(meeting)
    async with await meeting.client_as("owner") as client:
        response = await client.post(
            url(meeting, "mute-participant", "Daily Standup"),
            json={"participant_identity": "target", "track_sid": sid},
        )
    assert (response.status_code, response.json()) == (200, SUCCESS)


async def test_mute_by_session_member_is_403(meeting, livekit):
    sid = with_camera(meeting)
    response = await call(
        meeting, "member", "mute-participant", {"participant_identity": "target", "track_sid": sid}
    )
    assert (response.status_code, response.json()) == (403, NOT_ALLOWED)
    assert livekit.calls_to("MutePublishedTrack") == []


async def test_mute_anonymous_is_403(meeting, livekit):
    response = await call(
        meeting, "anonymous", "mute-participant", {"participant_identity": "t", "track_sid": "x"}
    )
    assert (response.status_code, response.json()) == (403, NO_CREDENTIALS)
    assert "www-authenticate" not in response.headers


async def test_mute_by_participant_token(meeting, livekit):
    sid = with_camera(meeting)
    livekit.add_participant(meeting.name, "guest-1")
    response = await call(
        meeting,
        "anonymous",
        "mute-participant",
        {"participant_identity": "target", "track_sid": sid},
        meeting.bearer("guest-1"),
    )
    assert (response.status_code, response.json()) == (200, SUCCESS)
    presence = livekit.last_call("GetParticipant").request
    assert (presence.room, presence.identity) == (meeting.name, "guest-1")
    assert livekit.last_call("MutePublishedTrack").request.identity == "target"


async def test_mute_token_wins_over_session_and_skips_csrf(meeting, livekit):
    """A member's browser sends its session cookie too: the token is used and no CSRF is asked."""
    sid = with_camera(meeting)
    livekit.add_participant(meeting.name, meeting.member.sub)
    async with await meeting.client_as("member") as client:
        client.headers.pop("X-CSRFToken")
        response = await client.post(
            url(meeting, "mute-participant"),
            json={"participant_identity": "target", "track_sid": sid},
            headers=meeting.bearer(meeting.member.sub),
        )
    assert (response.status_code, response.json()) == (200, SUCCESS)


async def test_mute_by_token_of_caller_not_in_meeting_is_403(meeting, livekit):
    sid = with_camera(meeting)
    response = await call(
        meeting,
        "anonymous",
        "mute-participant",
        {"participant_identity": "target", "track_sid": sid},
        meeting.bearer("ghost"),
    )
    assert (response.status_code, response.json()) == (403, {"error": "Could not verify caller presence"})
    assert livekit.calls_to("MutePublishedTrack") == []


async def test_mute_presence_check_fails_closed(meeting, livekit):
    sid = with_camera(meeting)
    livekit.add_participant(meeting.name, "guest-1")
    livekit.fail("GetParticipant", code="internal")
    response = await call(
        meeting,
        "anonymous",
        "mute-participant",
        {"participant_identity": "target", "track_sid": sid},
        meeting.bearer("guest-1"),
    )
    assert (response.status_code, response.json()) == (403, {"error": "Could not verify caller presence"})


async def test_mute_by_token_when_everyone_can_mute_is_off(make_meeting_app, livekit):
    meeting = await make_meeting_app(configuration={"everyone_can_mute": False})
    sid = with_camera(meeting)
    livekit.add_participant(meeting.name, meeting.owner.sub)
    # even the owner's token does not make them an administrator
    response = await call(
        meeting,
        "anonymous",
        "mute-participant",
        {"participant_identity": "target", "track_sid": sid},
        meeting.bearer(meeting.owner.sub),
    )
    assert (response.status_code, response.json()) == (403, NOT_ALLOWED)
    # the owner's session still may
    response = await call(
        meeting, "owner", "mute-participant", {"participant_identity": "target", "track_sid": sid}
    )
    assert (response.status_code, response.json()) == (200, SUCCESS)


@pytest.mark.parametrize(
    ("token_kwargs", "expected"),
    [
        ({"room": "another-room"}, NOT_ALLOWED),
        ({"ttl": datetime.timedelta(minutes=-5)}, {"detail": "Invalid LiveKit token: Signature has expired"}),
        (
            {"secret": "a-wrong-secret-that-is-long-enough-for-hs256"},
            {"detail": "Invalid LiveKit token: Signature verification failed"},
        ),
    ],
    ids=["other-room", "expired", "bad-secret"],
)
@pytest.mark.parametrize("action", ["mute-participant", "toggle-hand", "rename"])
async def test_bad_livekit_tokens_are_403(meeting, livekit, token_kwargs, expected, action):
    livekit.add_participant(meeting.name, "guest-1")
    body = {"participant_identity": "t", "track_sid": "x", "raised": True, "name": "New"}
    response = await call(meeting, "anonymous", action, body, meeting.bearer("guest-1", **token_kwargs))
    assert (response.status_code, response.json()) == (403, expected)
    assert livekit.calls == []


@pytest.mark.parametrize("action", ["mute-participant", "toggle-hand", "rename"])
async def test_malformed_bearer_header_is_403(meeting, livekit, action):
    for header in ("Bearer", "Token abc", "Bearer a b", "Bearer not.a.jwt"):
        response = await call(meeting, "anonymous", action, {}, {"Authorization": header})
        assert response.status_code == 403
        assert response.json()["detail"].startswith(
            ("Authorization header must be", "Invalid LiveKit token:")
        )


async def test_mute_body_errors(meeting, livekit):
    cases = [
        ({}, {"participant_identity": ["This field is required."], "track_sid": ["This field is required."]}),
        (
            {"participant_identity": "", "track_sid": None},
            {
                "participant_identity": ["This field may not be blank."],
                "track_sid": ["This field may not be null."],
            },
        ),
        (
            {"participant_identity": ["x"], "track_sid": "x" * 256},
            {
                "participant_identity": ["Not a valid string."],
                "track_sid": ["Ensure this field has no more than 255 characters."],
            },
        ),
    ]
    for body, errors in cases:
        response = await call(meeting, "owner", "mute-participant", body)
        assert (response.status_code, response.json()) == (400, errors)
    async with await meeting.client_as("owner") as client:
        response = await client.post(
            url(meeting, "mute-participant"), content=b"{oops", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["detail"].startswith("JSON parse error")
        response = await client.post(url(meeting, "mute-participant"), json=[1])
        assert response.status_code == 400
    assert livekit.calls_to("MutePublishedTrack") == []


async def test_mute_unknown_room_is_404(meeting, livekit):
    async with await meeting.client_as("owner") as client:
        response = await client.post(
            "/api/v1.0/rooms/no-such-room/mute-participant/",
            json={"participant_identity": "t", "track_sid": "x"},
        )
    assert (response.status_code, response.json()) == (404, {"detail": "No Room matches the given query."})


async def test_mute_unknown_participant_or_track_is_404(meeting, livekit):
    with_camera(meeting)
    for body in (
        {"participant_identity": "nobody", "track_sid": "TR_x"},
        {"participant_identity": "target", "track_sid": "TR_x"},
    ):
        response = await call(meeting, "owner", "mute-participant", body)
        assert (response.status_code, response.json()) == (404, {"error": "Participant not found"})


async def test_mute_livekit_failure_is_502(meeting, livekit):
    sid = with_camera(meeting)
    livekit.fail("MutePublishedTrack", code="internal")
    response = await call(
        meeting, "owner", "mute-participant", {"participant_identity": "target", "track_sid": sid}
    )
    assert (response.status_code, response.json()) == (502, {"error": "Failed to mute participant"})


async def test_livekit_down_is_502(meeting, livekit):
    sid = with_camera(meeting)
    livekit.set_down()
    try:
        response = await call(
            meeting, "owner", "mute-participant", {"participant_identity": "target", "track_sid": sid}
        )
    finally:
        livekit.set_down(False)
    assert (response.status_code, response.json()) == (502, {"error": "Failed to mute participant"})


# ---------------------------------------------------------------------------- session-only actions

SESSION_ACTIONS = {
    "update-participant": {"participant_identity": "target", "name": "Renamed"},
    "remove-participant": {"participant_identity": "target"},
    "update-participant-role": {"participant_identity": "target", "role": "member"},
}


@pytest.mark.parametrize("action", list(SESSION_ACTIONS))
async def test_session_actions_refuse_anonymous_and_tokens(meeting, livekit, action):
    livekit.add_participant(meeting.name, "target")
    no_headers: dict[str, str] = {}
    for headers in (no_headers, meeting.bearer("guest-1"), meeting.bearer(meeting.owner.sub)):
        response = await call(meeting, "anonymous", action, SESSION_ACTIONS[action], headers)
        assert (response.status_code, response.json()) == (401, NO_CREDENTIALS)
        assert response.headers["www-authenticate"] == "Session"
    assert livekit.calls == []


@pytest.mark.parametrize("action", list(SESSION_ACTIONS))
async def test_session_actions_refuse_members(meeting, livekit, action):
    livekit.add_participant(meeting.name, "target")
    response = await call(meeting, "member", action, SESSION_ACTIONS[action])
    assert (response.status_code, response.json()) == (403, NO_PRIVILEGES)
    assert livekit.calls == []


@pytest.mark.parametrize("action", list(SESSION_ACTIONS))
async def test_session_actions_check_csrf(meeting, livekit, action):
    async with await meeting.client_as("owner") as client:
        client.headers.pop("X-CSRFToken")
        response = await client.post(url(meeting, action), json=SESSION_ACTIONS[action])
    assert (response.status_code, response.json()) == (403, {"detail": "CSRF Failed: CSRF token missing."})


@pytest.mark.parametrize("action", list(SESSION_ACTIONS))
async def test_session_actions_on_unknown_room_are_404(meeting, livekit, action):
    async with await meeting.client_as("owner") as client:
        response = await client.post(
            f"/api/v1.0/rooms/{meeting.owner.id}/{action}/", json=SESSION_ACTIONS[action]
        )
    assert (response.status_code, response.json()) == (404, {"detail": "No Room matches the given query."})


# ---------------------------------------------------------------------------- update-participant


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_update_participant_everything(meeting, livekit, who):
    livekit.add_participant(meeting.name, "target", metadata='{"old": true}', attributes={"a": "1", "b": "2"})
    body = {
        "participant_identity": "target",
        "metadata": {"note": "hello", "n": 1},
        "attributes": {"a": "10", "b": ""},
        "permission": {"can_subscribe": True, "can_publish_sources": ["camera", "screen_share_audio"]},
        "name": "New Name",
    }
    response = await call(meeting, who, "update-participant", body)
    assert (response.status_code, response.json()) == (200, SUCCESS)
    request = livekit.last_call("UpdateParticipant").request
    assert (request.room, request.identity, request.name) == (meeting.name, "target", "New Name")
    assert json.loads(request.metadata) == {"note": "hello", "n": 1}
    assert request.metadata == '{"note": "hello", "n": 1}'
    assert dict(request.attributes) == {"a": "10", "b": ""}
    assert request.permission == models.ParticipantPermission(
        can_subscribe=True,
        can_publish_sources=[models.TrackSource.CAMERA, models.TrackSource.SCREEN_SHARE_AUDIO],
    )
    stored = livekit.participant(meeting.name, "target")
    assert dict(stored.attributes) == {"a": "10"}
    assert stored.permission.can_publish is False  # the permission is a full replacement


async def test_update_participant_leaves_metadata_alone_when_not_given(meeting, livekit):
    livekit.add_participant(meeting.name, "target", metadata='{"keep": 1}')
    response = await call(
        meeting, "owner", "update-participant", {"participant_identity": "target", "attributes": {"x": "y"}}
    )
    assert (response.status_code, response.json()) == (200, SUCCESS)
    request = livekit.last_call("UpdateParticipant").request
    assert request.metadata == ""
    assert request.name == ""
    assert not request.HasField("permission")
    assert livekit.participant(meeting.name, "target").metadata == '{"keep": 1}'


async def test_update_participant_empty_dict_counts_as_given(meeting, livekit):
    livekit.add_participant(meeting.name, "target")
    response = await call(
        meeting, "owner", "update-participant", {"participant_identity": "target", "metadata": {}}
    )
    assert (response.status_code, response.json()) == (200, SUCCESS)
    assert livekit.last_call("UpdateParticipant").request.metadata == "{}"


async def test_update_participant_needs_something_to_update(meeting, livekit):
    message = "At least one of the following fields must be provided: metadata, attributes, permission, name."
    for body in (
        {"participant_identity": "target"},
        {
            "participant_identity": "target",
            "metadata": None,
            "attributes": None,
            "permission": None,
            "name": None,
        },
        {"participant_identity": "target", "name": ""},
    ):
        response = await call(meeting, "owner", "update-participant", body)
        assert (response.status_code, response.json()) == (400, {"non_field_errors": [message]})
    assert livekit.calls == []


async def test_update_participant_field_errors(meeting, livekit):
    body = {"metadata": "text", "attributes": {"ok": "1", "bad": {"x": 1}}, "name": "n" * 256}
    response = await call(meeting, "owner", "update-participant", body)
    assert response.status_code == 400
    assert response.json() == {
        "participant_identity": ["This field is required."],
        "metadata": ['Expected a dictionary of items but got type "str".'],
        "attributes": {"bad": ["Not a valid string."]},
        "name": ["Ensure this field has no more than 255 characters."],
    }


async def test_update_participant_invalid_permission(meeting, livekit):
    body = {
        "participant_identity": "target",
        "permission": {"can_fly": True, "can_publish_sources": ["radio"]},
    }
    response = await call(meeting, "owner", "update-participant", body)
    assert response.status_code == 400
    errors = response.json()["permission"]
    assert {(e["type"], tuple(e["loc"])) for e in errors} == {
        ("extra_forbidden", ("can_fly",)),
        ("literal_error", ("can_publish_sources", 0)),
    }
    assert all({"type", "loc", "msg", "input", "url"} <= set(e) for e in errors)
    assert livekit.calls == []


@pytest.mark.parametrize("field", ["hidden", "recorder", "agent"])
async def test_update_participant_forbidden_permission_fields(meeting, livekit, field):
    livekit.add_participant(meeting.name, "target")
    for value in (True, False):
        body = {"participant_identity": "target", "permission": {"can_publish": True, field: value}}
        response = await call(meeting, "owner", "update-participant", body)
        assert (response.status_code, response.json()) == (
            400,
            {"permission": [f"These permissions may not be set: {field}."]},
        )
    # null means "not set"
    body = {"participant_identity": "target", "permission": {"can_publish": True, field: None}}
    response = await call(meeting, "owner", "update-participant", body)
    assert (response.status_code, response.json()) == (200, SUCCESS)
    assert len(livekit.calls_to("UpdateParticipant")) == 1


async def test_forbidden_permission_fields_are_configurable(make_meeting_app, livekit):
    meeting = await make_meeting_app(env={"PARTICIPANT_FORBIDDEN_PERMISSION_FIELDS": "can_update_metadata"})
    livekit.add_participant(meeting.name, "target")
    body = {"participant_identity": "target", "permission": {"hidden": True}}
    assert (await call(meeting, "owner", "update-participant", body)).status_code == 200
    assert livekit.last_call("UpdateParticipant").request.permission.hidden is True
    body = {"participant_identity": "target", "permission": {"can_update_metadata": True}}
    response = await call(meeting, "owner", "update-participant", body)
    assert (response.status_code, response.json()) == (
        400,
        {"permission": ["These permissions may not be set: can_update_metadata."]},
    )


async def test_update_participant_not_found_and_failure(meeting, livekit):
    response = await call(
        meeting, "owner", "update-participant", {"participant_identity": "nobody", "name": "X"}
    )
    assert (response.status_code, response.json()) == (404, {"error": "Participant not found"})
    livekit.add_participant(meeting.name, "target")
    livekit.fail("UpdateParticipant", code="internal")
    response = await call(
        meeting, "owner", "update-participant", {"participant_identity": "target", "name": "X"}
    )
    assert (response.status_code, response.json()) == (502, {"error": "Failed to update participant"})


# ---------------------------------------------------------------------------- remove-participant


class LobbySpy:
    name = "lobby_spy"

    def __init__(self) -> None:
        self.removed: list[tuple[str, str]] = []

    @hookimpl
    async def meet_participant_removed(self, request: Any, room: Any, identity: str) -> None:
        self.removed.append((str(room.id), identity))


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_remove_participant(make_meeting_app, livekit, who):
    spy = LobbySpy()
    meeting = await make_meeting_app(plugins=[spy])
    livekit.add_participant(meeting.name, "target")
    response = await call(meeting, who, "remove-participant", {"participant_identity": "target"})
    assert (response.status_code, response.json()) == (200, SUCCESS)
    request = livekit.last_call("RemoveParticipant").request
    assert (request.room, request.identity) == (meeting.name, "target")
    assert livekit.participant(meeting.name, "target") is None
    assert spy.removed == [(meeting.name, "target")]


async def test_remove_participant_not_connected(make_meeting_app, livekit):
    spy = LobbySpy()
    meeting = await make_meeting_app(plugins=[spy])
    response = await call(meeting, "owner", "remove-participant", {"participant_identity": "gone"})
    assert (response.status_code, response.json()) == (404, {"error": "Participant not found"})
    assert spy.removed == [(meeting.name, "gone")]  # its lobby admission is forgotten all the same


async def test_remove_participant_failure(make_meeting_app, livekit):
    spy = LobbySpy()
    meeting = await make_meeting_app(plugins=[spy])
    livekit.add_participant(meeting.name, "target")
    livekit.fail("RemoveParticipant", code="unavailable")
    response = await call(meeting, "owner", "remove-participant", {"participant_identity": "target"})
    assert (response.status_code, response.json()) == (502, {"error": "Failed to remove participant"})
    assert spy.removed == []


async def test_remove_participant_body(meeting, livekit):
    response = await call(meeting, "owner", "remove-participant", {})
    assert (response.status_code, response.json()) == (
        400,
        {"participant_identity": ["This field is required."]},
    )
