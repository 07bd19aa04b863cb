"""No stuck recordings, no kept-forever files: reconciliation and retention.

``reconcile`` closes recordings left ``initiated``/``active`` whose egress LiveKit no longer runs
(a crash, a lost ``egress_ended``), so the room's next start is not refused forever; it runs
from ``meet recordings reconcile`` and on each ``room_finished``. ``purge`` deletes the files of
recordings older than ``RECORDING_EXPIRATION_DAYS`` from the bucket and marks their rows.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import uuid

from livekit import api as lk
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_recording import egress, storage
from meet_recording.models import IN_PROGRESS, Recording, Status
from meet_recording.settings import RecordingSettings
from meet_recording.storage import StorageSettings

log = logging.getLogger("meet_recording")

#: An ``initiated`` recording younger than this may still be waiting for its egress.
START_GRACE = datetime.timedelta(minutes=2)


def _closed_status(info: lk.EgressInfo | None) -> Status:
    """What a recording whose egress stopped running becomes: ``stopped`` when a file was made
    (completion can still save it), ``aborted`` otherwise."""
    if info is not None and info.status in (
        lk.EgressStatus.EGRESS_COMPLETE,
        lk.EgressStatus.EGRESS_LIMIT_REACHED,
    ):
        return Status.STOPPED
    return Status.ABORTED


async def reconcile(
    session: AsyncSession,
    client: lk.LiveKitAPI,
    settings: RecordingSettings,
    room_id: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """Close the in-progress recordings (of one room, or all) whose egress is over; the changes."""
    query = select(Recording).where(Recording.status.in_([s.value for s in IN_PROGRESS]))
    if room_id is not None:
        query = query.where(Recording.room_id == room_id)
    changed: list[tuple[uuid.UUID, str]] = []
    now = datetime.datetime.now(datetime.UTC)
    for recording in (await session.scalars(query)).all():
        if not recording.worker_id:
            created = recording.created_at.replace(tzinfo=recording.created_at.tzinfo or datetime.UTC)
            if now - created > START_GRACE:
                recording.status = Status.FAILED_TO_START.value
                changed.append((recording.id, recording.status))
            continue
        try:
            info = await egress.egress_info(client, settings, recording.worker_id)
        except Exception as exc:  # LiveKit unreachable: decide nothing
            log.warning("cannot check egress %s of recording %s: %r", recording.worker_id, recording.id, exc)
            continue
        if info is not None and info.status in egress.RUNNING:
            continue
        recording.status = _closed_status(info).value
        changed.append((recording.id, recording.status))
        log.info("recording %s closed as %s (its egress is over)", recording.id, recording.status)
    await session.flush()
    return changed


async def purge(
    session: AsyncSession, settings: RecordingSettings, bucket: StorageSettings, dry_run: bool = False
) -> list[uuid.UUID]:
    """Delete the files of expired recordings from ``bucket`` and mark them (``options.purged_at``);
    their ids."""
    days = settings.recording_expiration_days
    if not days:
        return []
    limit = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    query = select(Recording).where(
        Recording.created_at < limit, Recording.status.not_in([s.value for s in IN_PROGRESS])
    )
    expired = [r for r in (await session.scalars(query)).all() if "purged_at" not in (r.options or {})]
    if dry_run or not expired:
        return [r.id for r in expired]
    prefixes = [f"{settings.recording_output_folder}/{r.id}." for r in expired]
    prefixes += [f"{settings.metadata_collector_output_folder}/{r.id}-metadata.json" for r in expired]
    await asyncio.to_thread(storage.delete_prefixes, bucket, prefixes)
    stamp = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
    for recording in expired:
        recording.options = {**(recording.options or {}), "purged_at": stamp}
    await session.flush()
    return [r.id for r in expired]
