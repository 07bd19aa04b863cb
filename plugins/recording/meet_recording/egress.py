"""LiveKit calls of the recording plugin, through the application's ``LiveKitAPI`` client.

Every call is bounded by ``RECORDING_LIVEKIT_TIMEOUT``. Starting and stopping raise
:class:`EgressError` on any failure (LiveKit's error, a timeout, an empty answer), which the
routes turn into ``failed_to_start`` / ``failed_to_stop``. Room metadata and participant
notifications are best-effort: a failure is only logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from livekit import api as lk

from meet_recording.modes import RecordingMode
from meet_recording.settings import RecordingSettings
from meet_recording.storage import StorageSettings

log = logging.getLogger("meet_recording")

#: Egress statuses LiveKit still works on (ListEgress ``active``).
RUNNING = frozenset(
    {lk.EgressStatus.EGRESS_STARTING, lk.EgressStatus.EGRESS_ACTIVE, lk.EgressStatus.EGRESS_ENDING}
)


class EgressError(Exception):
    """LiveKit could not start or stop an egress (or answered something unusable)."""


def s3_upload(settings: StorageSettings) -> lk.S3Upload:
    """The upload target of every file (§7.3): the ``AWS_*`` settings, path-style addressing."""
    return lk.S3Upload(
        endpoint=settings.aws_s3_endpoint_url or "",
        access_key=settings.aws_s3_access_key_id or "",
        secret=settings.aws_s3_secret_access_key or "",
        session_token=settings.aws_session_token or "",
        region=settings.aws_s3_region_name or "",
        bucket=settings.aws_storage_bucket_name,
        force_path_style=True,
    )


async def start(
    client: lk.LiveKitAPI,
    settings: RecordingSettings,
    storage: StorageSettings,
    mode: RecordingMode,
    room_name: str,
    key: str,
) -> str:
    """Start the egress of ``mode`` writing ``key`` into the ``storage`` bucket; its egress id."""
    output = lk.EncodedFileOutput(filepath=key, s3=s3_upload(storage))
    request = mode.egress_request(room_name, output)
    starters: dict[type, Any] = {
        lk.RoomCompositeEgressRequest: client.egress.start_room_composite_egress,
        lk.TrackCompositeEgressRequest: client.egress.start_track_composite_egress,
        lk.WebEgressRequest: client.egress.start_web_egress,
    }
    try:
        async with asyncio.timeout(settings.recording_livekit_timeout):
            info = await starters[type(request)](request)
    except Exception as exc:
        raise EgressError(f"egress did not start: {exc!r}") from exc
    if not info.egress_id:
        raise EgressError("LiveKit answered no egress id")
    return str(info.egress_id)


async def stop(client: lk.LiveKitAPI, settings: RecordingSettings, egress_id: str) -> int:
    """Stop an egress; the status LiveKit answered (never ``EGRESS_STARTING``, 0: an error)."""
    try:
        async with asyncio.timeout(settings.recording_livekit_timeout):
            info = await client.egress.stop_egress(lk.StopEgressRequest(egress_id=egress_id))
    except Exception as exc:
        raise EgressError(f"egress did not stop: {exc!r}") from exc
    if not info.status:
        raise EgressError("LiveKit answered no egress status")
    return int(info.status)


async def egress_info(
    client: lk.LiveKitAPI, settings: RecordingSettings, egress_id: str
) -> lk.EgressInfo | None:
    """The egress of that id, None when LiveKit no longer knows it (raises on a LiveKit failure)."""
    async with asyncio.timeout(settings.recording_livekit_timeout):
        found = await client.egress.list_egress(lk.ListEgressRequest(egress_id=egress_id))
    return next((item for item in found.items if item.egress_id == egress_id), None)


async def update_metadata(
    client: lk.LiveKitAPI,
    settings: RecordingSettings,
    room_name: str,
    values: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
) -> None:
    """Merge ``values`` into the live room's metadata (minus ``remove``); best-effort."""
    try:
        async with asyncio.timeout(settings.recording_livekit_timeout):
            listing = await client.room.list_rooms(lk.ListRoomsRequest(names=[room_name]))
            live = next((room for room in listing.rooms if room.name == room_name), None)
            if live is None:
                return
            try:
                current = json.loads(live.metadata) if live.metadata else {}
            except ValueError:
                current = {}
            if not isinstance(current, dict):
                current = {}
            for key in remove:
                current.pop(key, None)
            current.update(values or {})
            await client.room.update_room_metadata(
                lk.UpdateRoomMetadataRequest(room=room_name, metadata=json.dumps(current))
            )
    except Exception as exc:
        log.warning("could not update the metadata of LiveKit room %s: %r", room_name, exc)


async def notify_room(
    client: lk.LiveKitAPI, settings: RecordingSettings, room_name: str, payload: dict[str, Any]
) -> bool:
    """Send ``payload`` to every participant of the room (reliable data packet); False on failure."""
    try:
        async with asyncio.timeout(settings.recording_livekit_timeout):
            await client.room.send_data(
                lk.SendDataRequest(
                    room=room_name, data=json.dumps(payload).encode(), kind=lk.DataPacket.Kind.RELIABLE
                )
            )
    except Exception as exc:
        log.warning("could not notify LiveKit room %s: %r", room_name, exc)
        return False
    return True


async def dispatch_metadata_collector(
    client: lk.LiveKitAPI, settings: RecordingSettings, room_name: str, recording_id: str
) -> str | None:
    """Dispatch the metadata-collector agent (§7.2 step 4); its dispatch id, None on failure."""
    try:
        async with asyncio.timeout(settings.recording_livekit_timeout):
            dispatch = await client.agent_dispatch.create_dispatch(
                lk.CreateAgentDispatchRequest(
                    agent_name=settings.metadata_collector_agent_name, room=room_name, metadata=recording_id
                )
            )
    except Exception as exc:
        log.warning("metadata collector dispatch failed in room %s: %r", room_name, exc)
        return None
    return str(dispatch.id) or None


async def delete_dispatch(
    client: lk.LiveKitAPI, settings: RecordingSettings, room_name: str, dispatch_id: str
) -> None:
    """Remove the metadata collector when the egress ended; best-effort."""
    try:
        async with asyncio.timeout(settings.recording_livekit_timeout):
            await client.agent_dispatch.delete_dispatch(dispatch_id, room_name)
    except Exception as exc:
        log.warning("could not delete agent dispatch %s: %r", dispatch_id, exc)
