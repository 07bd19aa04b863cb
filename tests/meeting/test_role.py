"""update-participant-role: presence checks, rules, database first, best-effort LiveKit sync."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from meet_core.rooms.models import ResourceAccess
from meet_core.testing.factories import session_maker

ACTION = "update-participant-role"


async def roles(meeting: Any) -> dict[str, str]:
    """The room's accesses as {user email: role}, read from the database."""
    from meet_core.users.models import User

    async with session_maker(meeting.meet.app)() as session:
        rows = await session.execute(
            select(User.email, ResourceAccess.role)
            .join(ResourceAccess, ResourceAccess.user_id == User.id)
            .where(ResourceAccess.resource_id == meeting.room.id)
        )
        return {email: role for email, role in rows.all()}


async def call(meeting: Any, body: Any, who: str = "admin") -> Any:
    async with await meeting.client_as(who) as client:
        return await client.post(f"/api/v1.0/rooms/{meeting.room.id}/{ACTION}/", json=body)


@pytest.fixture
async def connected(meeting, livekit):
    """The administrator and a guest user with no access are both in the meeting."""
    guest = await meeting.meet.create_user(email="guest@example.com")
    livekit.add_participant(meeting.name, meeting.admin.sub)
    livekit.add_participant(meeting.name, guest.sub, attributes={"color": "red"})
    return guest


async def test_promote_a_user_without_access(meeting, livekit, connected):
    response = await call(meeting, {"participant_identity": connected.sub, "role": "administrator"})
    assert (response.status_code, response.json()) == (200, {"role": "administrator", "livekit_synced": True})
    assert (await roles(meeting))["guest@example.com"] == "administrator"
    presence = [(c.request.room, c.request.identity) for c in livekit.calls_to("GetParticipant")]
    assert presence == [(meeting.name, meeting.admin.sub), (meeting.name, connected.sub)]
    request = livekit.last_call("UpdateParticipant").request
    assert (request.room, request.identity, request.metadata, request.name) == (
        meeting.name,
        connected.sub,
        "",
        "",
    )
    assert dict(request.attributes) == {"room_role": "administrator"}
    assert not request.HasField("permission")
    assert dict(livekit.participant(meeting.name, connected.sub).attributes) == {
        "color": "red",
        "room_role": "administrator",
    }


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_change_member_and_administrator(meeting, livekit, who):
    caller = meeting.owner if who == "owner" else meeting.admin
    livekit.add_participant(meeting.name, caller.sub)
    livekit.add_participant(meeting.name, meeting.member.sub)
    response = await call(meeting, {"participant_identity": meeting.member.sub, "role": "administrator"}, who)
    assert (response.status_code, response.json()) == (200, {"role": "administrator", "livekit_synced": True})
    assert (await roles(meeting))["member@example.com"] == "administrator"
    response = await call(meeting, {"participant_identity": meeting.member.sub, "role": "member"}, who)
    assert (response.status_code, response.json()) == (200, {"role": "member", "livekit_synced": True})
    assert (await roles(meeting))["member@example.com"] == "member"


async def test_livekit_failure_keeps_the_database_change(meeting, livekit, connected):
    livekit.fail("UpdateParticipant", code="internal")
    response = await call(meeting, {"participant_identity": connected.sub, "role": "member"})
    assert (response.status_code, response.json()) == (200, {"role": "member", "livekit_synced": False})
    assert (await roles(meeting))["guest@example.com"] == "member"


async def test_caller_must_be_in_the_meeting(meeting, livekit):
    guest = await meeting.meet.create_user()
    livekit.add_participant(meeting.name, guest.sub)
    response = await call(meeting, {"participant_identity": guest.sub, "role": "member"})
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "You must be connected to the meeting to perform this action."},
    )
    before = await roles(meeting)
    livekit.add_participant(meeting.name, meeting.admin.sub)
    livekit.fail("GetParticipant", code="internal")  # fails closed
    response = await call(meeting, {"participant_identity": guest.sub, "role": "member"})
    assert response.status_code == 403
    assert await roles(meeting) == before


async def test_caller_presence_is_checked_before_the_body(meeting, livekit):
    response = await call(meeting, {"role": "owner"})
    assert response.status_code == 403


async def test_body_errors(meeting, livekit, connected):
    for body, errors in (
        ({}, {"participant_identity": ["This field is required."], "role": ["This field is required."]}),
        (
            {"participant_identity": connected.sub, "role": "owner"},
            {"role": ['"owner" is not a valid choice.']},
        ),
        ({"participant_identity": connected.sub, "role": None}, {"role": ["This field may not be null."]}),
    ):
        response = await call(meeting, body)
        assert (response.status_code, response.json()) == (400, errors)
    assert "guest@example.com" not in await roles(meeting)


async def test_cannot_change_own_role(meeting, livekit, connected):
    response = await call(meeting, {"participant_identity": meeting.admin.sub, "role": "member"})
    assert (response.status_code, response.json()) == (403, {"error": "You cannot change your own role."})
    assert (await roles(meeting))["admin@example.com"] == "administrator"


async def test_target_must_be_connected(meeting, livekit, connected):
    response = await call(meeting, {"participant_identity": meeting.member.sub, "role": "administrator"})
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Participant is not connected to this meeting."},
    )
    assert (await roles(meeting))["member@example.com"] == "member"


async def test_target_must_have_an_account(meeting, livekit, connected):
    livekit.add_participant(meeting.name, "anonymous-4f2a")
    response = await call(meeting, {"participant_identity": "anonymous-4f2a", "role": "member"})
    assert (response.status_code, response.json()) == (
        404,
        {"error": "This participant has no user account and cannot be assigned a role."},
    )


async def test_owners_cannot_be_demoted(meeting, livekit, connected):
    livekit.add_participant(meeting.name, meeting.owner.sub)
    for role in ("member", "administrator"):
        response = await call(meeting, {"participant_identity": meeting.owner.sub, "role": role})
        assert (response.status_code, response.json()) == (403, {"error": "Room owners cannot be demoted."})
    assert (await roles(meeting))["owner@example.com"] == "owner"
    assert livekit.calls_to("UpdateParticipant") == []
