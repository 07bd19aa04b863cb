"""LiveKit RoomService calls on participants, with their failures sorted in two kinds.

``ParticipantNotFound`` is LiveKit's ``not_found`` (the participant, or the track, is not
there). ``LiveKitFailure`` is everything else: a Twirp error or LiveKit unreachable. The
handlers turn them into the spec's ``{"error": ...}`` bodies (404 and 502).

Unlike the old system, ``update`` sends metadata only when the caller gives some: LiveKit
treats any non-empty metadata as an update, so the old ``"null"`` wiped participants'
metadata on every rename or raised hand.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
from livekit.api import LiveKitAPI, ServerError
from livekit.protocol import models
from livekit.protocol import room as rm

from meet_core.http.errors import ApiError

log = logging.getLogger("meet_core.meeting")

T = TypeVar("T")

PARTICIPANT_NOT_FOUND = "Participant not found"


class ParticipantNotFound(Exception):
    """LiveKit answered ``not_found``."""


class LiveKitFailure(Exception):
    """LiveKit answered another error or could not be reached."""


async def _call(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except ServerError as exc:
        if exc.code == "not_found":
            raise ParticipantNotFound(exc.message) from exc
        log.warning("LiveKit error: %s", exc)
        raise LiveKitFailure(str(exc)) from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.warning("LiveKit unreachable: %r", exc)
        raise LiveKitFailure(repr(exc)) from exc


@contextmanager
def action_errors(failure: str) -> Iterator[None]:
    """404 ``{"error": "Participant not found"}`` / 502 ``{"error": failure}`` for the block's calls."""
    try:
        yield
    except ParticipantNotFound as exc:
        raise ApiError(404, {"error": PARTICIPANT_NOT_FOUND}) from exc
    except LiveKitFailure as exc:
        raise ApiError(502, {"error": failure}) from exc


async def mute(api: LiveKitAPI, room: str, identity: str, track_sid: str) -> None:
    request = rm.MuteRoomTrackRequest(room=room, identity=identity, track_sid=track_sid, muted=True)
    await _call(api.room.mute_published_track(request))


async def remove(api: LiveKitAPI, room: str, identity: str) -> None:
    await _call(api.room.remove_participant(rm.RoomParticipantIdentity(room=room, identity=identity)))


async def update(
    api: LiveKitAPI,
    room: str,
    identity: str,
    *,
    metadata: str | None = None,
    attributes: Mapping[str, str] | None = None,
    permission: models.ParticipantPermission | None = None,
    name: str | None = None,
) -> models.ParticipantInfo:
    """UpdateParticipant with only the given parts (empty metadata/name mean "unchanged" to LiveKit)."""
    fields: dict[str, Any] = {"room": room, "identity": identity}
    if metadata is not None:
        fields["metadata"] = metadata
    if attributes:
        fields["attributes"] = dict(attributes)
    if permission is not None:
        fields["permission"] = permission
    if name:
        fields["name"] = name
    return await _call(api.room.update_participant(rm.UpdateParticipantRequest(**fields)))


async def is_in_meeting(api: LiveKitAPI, room: str, identity: str) -> bool:
    """Whether ``identity`` is connected to ``room``: False when absent or disconnected.

    LiveKit failures raise :class:`LiveKitFailure`; callers checking permissions fail closed.
    """
    if not room or not identity:
        return False
    try:
        info = await _call(api.room.get_participant(rm.RoomParticipantIdentity(room=room, identity=identity)))
    except ParticipantNotFound:
        return False
    return info.state != models.ParticipantInfo.DISCONNECTED
