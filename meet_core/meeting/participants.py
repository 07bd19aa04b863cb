"""Acting on a live meeting's participants (spec/api.md §2.6, spec/services.md §6.2).

* ``mute-participant``: a room administrator (session), or — unless the room's
  ``configuration.everyone_can_mute`` is false — any participant holding a LiveKit token for
  this room who is connected to it. The token path never grants admin powers.
* ``update-participant``, ``remove-participant``, ``update-participant-role``: room
  administrators by session.
* ``toggle-hand``, ``rename``: the LiveKit token's own identity.

LiveKit ``not_found`` is a 404 ``{"error": "Participant not found"}``; any other LiveKit
failure a 502 ``{"error": "Failed to ..."}`` (the old system answered 500).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http import API_PREFIX
from meet_core.http.body import read_json_object
from meet_core.http.errors import ApiError, FieldErrors, permission_denied
from meet_core.http.openapi import ActionError, Detail, error_responses, request_body
from meet_core.identity.livekit_auth import livekit_caller
from meet_core.identity.sessions import session_user
from meet_core.meeting import bodies
from meet_core.meeting import livekit_participants as participants
from meet_core.meeting.access import livekit_room_name, participant_room, privileged_room
from meet_core.meeting.fields import INVALID, as_string, check_boolean, check_choice, check_dict, check_string
from meet_core.meeting.permissions import to_livekit, validate_permission
from meet_core.meeting.roles import ASSIGNABLE_ROLES, change_role
from meet_core.rooms.lookup import get_room_and_role_or_404, get_room_or_404, require_privileged
from meet_core.rooms.models import Room
from meet_core.state import core_settings, hooks, livekit_api
from meet_core.users.models import User

SUCCESS = {"status": "success"}
DISPLAY_NAME_LOCKED = "Logged-in participants may not change their display name."
ROOM_PATH = f"{API_PREFIX}/rooms/{{room_key:str}}"
NO_CREDENTIALS = "Authentication credentials were not provided."
NOTHING_TO_UPDATE = (
    "At least one of the following fields must be provided: metadata, attributes, permission, name."
)


def _raise_if(errors: dict[str, Any]) -> None:
    if errors:
        raise FieldErrors(errors)


def _everyone_can_mute(room: Room) -> bool:
    """The room lets participants mute each other unless its configuration says false (or null)."""
    return bool((room.configuration or {}).get("everyone_can_mute", True))


#: LiveKit's ``not_found`` and our own checks answer ``{"error": ...}``, lookups ``{"detail": ...}``.
_EITHER = Detail | ActionError


@post(
    f"{ROOM_PATH}/mute-participant",
    summary="Mute a participant's track",
    status_code=200,
    tags=["rooms"],
    dependencies=request_body(bodies.MuteBody),
    responses=error_responses(400, 403, 404, 415, 502, 503, shapes={403: _EITHER, 404: _EITHER}),
)
async def mute_participant(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_key: FromPath[str]
) -> dict[str, str]:
    """Mute one published track of a participant."""
    caller = None
    if request.headers.get("authorization"):  # the LiveKit token comes first, then the session
        caller = await livekit_caller(request)
        room = await get_room_or_404(db_session, room_key)
        if caller.room != livekit_room_name(room) or not _everyone_can_mute(room):
            raise permission_denied()
    else:
        user = await session_user(request, db_session)
        if user is None:
            raise permission_denied(NO_CREDENTIALS)
        room, role = await get_room_and_role_or_404(db_session, room_key, user)
        require_privileged(role)

    data = await read_json_object(request)
    errors: dict[str, Any] = {}
    identity = check_string(data, "participant_identity", errors)
    track_sid = check_string(data, "track_sid", errors, max_length=255)
    _raise_if(errors)

    api = livekit_api(request)
    room_name = livekit_room_name(room)
    if caller is not None:
        try:
            present = await participants.is_in_meeting(api, room_name, caller.identity)
        except participants.LiveKitFailure:
            present = False
        if not present:
            raise ApiError(403, {"error": "Could not verify caller presence"})
    with participants.action_errors("Failed to mute participant"):
        await participants.mute(api, room_name, identity, track_sid)
    return SUCCESS


def _check_attributes(data: dict[str, Any], errors: dict[str, Any]) -> Any:
    """A nullable map of string values (an empty value deletes the attribute in LiveKit)."""
    attributes = check_dict(data, "attributes", errors)
    if attributes is None or attributes is INVALID:
        return attributes
    cleaned: dict[str, str] = {}
    bad: dict[str, list[str]] = {}
    for key, value in attributes.items():
        text = as_string(value)
        if text is None:
            bad[key] = ["Not a valid string."]
        else:
            cleaned[key] = text
    if bad:
        errors["attributes"] = bad
        return INVALID
    return cleaned


@post(
    f"{ROOM_PATH}/update-participant",
    summary="Update a participant",
    status_code=200,
    tags=["rooms"],
    dependencies=request_body(bodies.UpdateParticipantBody),
    responses=error_responses(400, 401, 403, 404, 415, 502, 503, shapes={404: _EITHER}),
)
async def update_participant(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    room_key: FromPath[str],
) -> dict[str, str]:
    """Update a participant's metadata, attributes, permission and/or name."""
    room = await privileged_room(db_session, room_key, current_user)
    data = await read_json_object(request)
    errors: dict[str, Any] = {}
    identity = check_string(data, "participant_identity", errors)
    metadata = check_dict(data, "metadata", errors)
    attributes = _check_attributes(data, errors)
    raw_permission = check_dict(data, "permission", errors)
    permission = None
    if raw_permission is not None and raw_permission is not INVALID:
        permission = validate_permission(raw_permission, errors)
    name = check_string(
        data, "name", errors, required=False, allow_blank=True, allow_null=True, max_length=255
    )
    _raise_if(errors)
    if all(value is None or value == "" for value in (metadata, attributes, raw_permission, name)):
        raise FieldErrors({"non_field_errors": [NOTHING_TO_UPDATE]})
    livekit_permission = None
    if permission is not None:
        livekit_permission = to_livekit(
            permission, core_settings(request).participant_forbidden_permission_fields
        )

    with participants.action_errors("Failed to update participant"):
        await participants.update(
            livekit_api(request),
            livekit_room_name(room),
            identity,
            metadata=None if metadata is None else json.dumps(metadata),
            attributes=attributes,
            permission=livekit_permission,
            name=name,
        )
    return SUCCESS


@post(
    f"{ROOM_PATH}/remove-participant",
    summary="Remove a participant from the meeting",
    status_code=200,
    tags=["rooms"],
    dependencies=request_body(bodies.ParticipantBody),
    responses=error_responses(400, 401, 403, 404, 415, 502, 503, shapes={404: _EITHER}),
)
async def remove_participant(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    room_key: FromPath[str],
) -> dict[str, str]:
    """Disconnect a participant (not a ban: their token stays valid) and forget their admission."""
    room = await privileged_room(db_session, room_key, current_user)
    data = await read_json_object(request)
    errors: dict[str, Any] = {}
    identity = check_string(data, "participant_identity", errors)
    _raise_if(errors)
    try:
        with participants.action_errors("Failed to remove participant"):
            await participants.remove(livekit_api(request), livekit_room_name(room), identity)
    except ApiError as exc:
        if exc.status_code == 404:  # gone from LiveKit already: still forget the admission
            await hooks(request).participant_removed(request, room, identity)
        raise
    await hooks(request).participant_removed(request, room, identity)
    return SUCCESS


@post(
    f"{ROOM_PATH}/update-participant-role",
    summary="Change a connected participant's role",
    status_code=200,
    tags=["rooms"],
    dependencies=request_body(bodies.ParticipantRoleBody),
    responses=error_responses(400, 401, 403, 404, 415, 502, 503, shapes={403: _EITHER, 404: _EITHER}),
)
async def update_participant_role(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    room_key: FromPath[str],
) -> dict[str, Any]:
    """Make a connected participant a member or an administrator of the room."""
    room = await privileged_room(db_session, room_key, current_user)
    api = livekit_api(request)
    try:
        present = await participants.is_in_meeting(api, livekit_room_name(room), current_user.sub or "")
    except participants.LiveKitFailure:
        present = False  # fail closed
    if not present:
        raise permission_denied("You must be connected to the meeting to perform this action.")
    data = await read_json_object(request)
    errors: dict[str, Any] = {}
    identity = check_string(data, "participant_identity", errors)
    role = check_choice(data, "role", errors, ASSIGNABLE_ROLES)
    _raise_if(errors)
    synced = await change_role(db_session, api, room, current_user, identity, role)
    return {"role": role, "livekit_synced": synced}


@post(
    f"{ROOM_PATH}/toggle-hand",
    summary="Raise or lower one's hand",
    status_code=200,
    tags=["rooms"],
    dependencies=request_body(bodies.HandBody),
    responses=error_responses(400, 403, 404, 415, 502, 503, shapes={404: _EITHER}),
)
async def toggle_hand(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_key: FromPath[str]
) -> dict[str, str]:
    """Set the caller's ``handRaisedAt`` attribute to now (raised) or ``""`` (lowered)."""
    room, caller = await participant_room(request, db_session, room_key)
    data = await read_json_object(request)
    errors: dict[str, Any] = {}
    raised = check_boolean(data, "raised", errors)
    _raise_if(errors)
    value = datetime.datetime.now(datetime.UTC).isoformat() if raised else ""
    with participants.action_errors("Failed to update participant hand state"):
        await participants.update(
            livekit_api(request), livekit_room_name(room), caller.identity, attributes={"handRaisedAt": value}
        )
    return SUCCESS


@post(
    f"{ROOM_PATH}/rename",
    summary="Change one's display name",
    status_code=200,
    tags=["rooms"],
    dependencies=request_body(bodies.RenameBody),
    responses=error_responses(400, 403, 404, 415, 502, 503, shapes={403: _EITHER, 404: _EITHER}),
)
async def rename(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_key: FromPath[str]
) -> dict[str, str]:
    """Change the caller's LiveKit display name.

    Unlike the old system, logged-in users may not when
    ``AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME`` is false (they could not choose
    their name when joining either).
    """
    room, caller = await participant_room(request, db_session, room_key)
    data = await read_json_object(request)
    errors: dict[str, Any] = {}
    name = check_string(data, "name", errors, max_length=255)
    _raise_if(errors)
    locked = not core_settings(request).authenticated_participants_can_edit_display_name
    if locked and await db_session.scalar(select(User.id).where(User.sub == caller.identity)) is not None:
        raise ApiError(403, {"error": DISPLAY_NAME_LOCKED})
    with participants.action_errors("Failed to rename participant"):
        await participants.update(livekit_api(request), livekit_room_name(room), caller.identity, name=name)
    return SUCCESS


ROUTES = [
    mute_participant,
    update_participant,
    remove_participant,
    update_participant_role,
    toggle_hand,
    rename,
]
