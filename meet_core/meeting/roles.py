"""Promoting or demoting a connected participant (spec/services.md §6.3).

The database is the source of truth and is written first; the LiveKit attribute
``room_role`` is only a best-effort mirror for the other participants' UIs, so a LiveKit
failure there is reported as ``livekit_synced: false`` and does not undo the change. The
target's token grants are not changed: a newly minted token carries them.
"""

from __future__ import annotations

from livekit.api import LiveKitAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http.errors import ApiError
from meet_core.meeting import livekit_participants as participants
from meet_core.meeting.access import livekit_room_name
from meet_core.rooms.models import ResourceAccess, Role, Room
from meet_core.users.models import User

ASSIGNABLE_ROLES = (Role.MEMBER.value, Role.ADMINISTRATOR.value)


async def change_role(
    db_session: AsyncSession, api: LiveKitAPI, room: Room, actor: User, identity: str, role: str
) -> bool:
    """Give ``identity``'s user ``role`` in ``room``; returns whether LiveKit was updated too."""
    if identity == actor.sub:
        raise ApiError(403, {"error": "You cannot change your own role."})
    room_name = livekit_room_name(room)
    try:
        connected = await participants.is_in_meeting(api, room_name, identity)
    except participants.LiveKitFailure as exc:
        raise ApiError(502, {"error": "Failed to update participant role"}) from exc
    if not connected:
        raise ApiError(404, {"error": "Participant is not connected to this meeting."})
    target = await db_session.scalar(select(User).where(User.sub == identity))
    if target is None:
        raise ApiError(404, {"error": "This participant has no user account and cannot be assigned a role."})
    access = await db_session.scalar(
        select(ResourceAccess).where(
            ResourceAccess.resource_id == room.id, ResourceAccess.user_id == target.id
        )
    )
    if access is None:
        db_session.add(ResourceAccess(resource_id=room.id, user_id=target.id, role=role))
    elif access.role == Role.OWNER.value:
        raise ApiError(403, {"error": "Room owners cannot be demoted."})
    else:
        access.role = role
    await db_session.flush()
    try:
        await participants.update(api, room_name, identity, attributes={"room_role": role})
    except (participants.ParticipantNotFound, participants.LiveKitFailure):
        return False
    return True
