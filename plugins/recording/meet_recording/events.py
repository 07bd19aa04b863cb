"""LiveKit webhook events of the recording plugin (services.md §3.2, §7.5).

Runs in the webhook's own transaction (``meet_livekit_event``). Unlike the old system, an
unknown egress or a failing notification never turns into a 500 that makes LiveKit retry: it is
logged, and ``meet recordings reconcile`` closes what stays open.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from litestar import Request
from livekit import api as lk
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_recording import egress, upkeep
from meet_recording.models import Recording, Status
from meet_recording.service import NotSavableError, state_service

log = logging.getLogger("meet_recording")

_UPDATE_STATUS = {
    lk.EgressStatus.EGRESS_ACTIVE: "started",
    lk.EgressStatus.EGRESS_ENDING: "saving",
    lk.EgressStatus.EGRESS_ABORTED: "aborted",
}


async def handle_event(
    request: Request[Any, Any, Any], event: lk.WebhookEvent, session: AsyncSession
) -> None:
    service = state_service(request)
    if event.event == "room_finished":
        try:
            room_id = uuid.UUID(event.room.name)
        except ValueError:
            return
        await upkeep.reconcile(session, service.livekit, service.config, room_id)
        return
    if event.event not in ("egress_updated", "egress_ended"):
        return
    info = event.egress_info
    recording = await session.scalar(select(Recording).where(Recording.worker_id == info.egress_id))
    if recording is None:
        log.info("%s of egress %s: no recording", event.event, info.egress_id)
        return
    room_name = info.room_name or str(recording.room_id)
    if event.event == "egress_updated":
        value = _UPDATE_STATUS.get(info.status)
        if value:
            await egress.update_metadata(
                service.livekit, service.config, room_name, {"recording_status": value}
            )
        return

    await egress.update_metadata(
        service.livekit, service.config, room_name, remove=("recording_mode", "recording_status")
    )
    dispatch_id = (recording.options or {}).get("metadata_collector_dispatch_id")
    if dispatch_id:
        await egress.delete_dispatch(service.livekit, service.config, room_name, dispatch_id)
    limit = info.status == lk.EgressStatus.EGRESS_LIMIT_REACHED
    if limit and recording.status == Status.ACTIVE.value:
        await service.limit_reached(session, recording)
    done = info.status in (lk.EgressStatus.EGRESS_COMPLETE, lk.EgressStatus.EGRESS_LIMIT_REACHED)
    if done and not service.config.recording_storage_event_enable:
        try:
            await service.complete(session, recording, commit_before_notify=False)
        except NotSavableError as exc:
            log.warning("%s", exc)
    elif (
        info.status in (lk.EgressStatus.EGRESS_FAILED, lk.EgressStatus.EGRESS_ABORTED)
        and recording.status == Status.ACTIVE.value
    ):
        # The old system left these active forever (blocking the room's next start).
        recording.status = Status.ABORTED.value
        await session.flush()
