"""The recording service of an application: its modes, and what happens when a file is saved.

One :class:`RecordingService` per application (made by the plugin's lifespan, kept on
``app.state``). Completion (§7.5 ``handle_complete``) reads what it needs, leaves the database
alone while it talks to the SMTP server and the summary service (bounded by their timeouts), then
writes the new status: a slow mail server never holds a database transaction open.
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from livekit import api as lk
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import Role, Room, Settings, User
from meet_recording import egress, notifications
from meet_recording.models import SAVABLE, Recording, RecordingAccess, Status
from meet_recording.modes import RecordingMode
from meet_recording.settings import RecordingSettings

log = logging.getLogger("meet_recording")

UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass
class Completion:
    """What completing a recording needs, read from the database before any network call."""

    recording: Recording
    room: Room
    owners: list[User]
    mode: RecordingMode | None


class RecordingService:
    """The settings and modes of one application, and the operations shared by routes and hooks."""

    def __init__(
        self,
        settings: Settings,
        config: RecordingSettings,
        modes: dict[str, RecordingMode],
        livekit: lk.LiveKitAPI,
    ) -> None:
        self.core = settings.core
        self.config = config
        self.modes = modes
        self.livekit = livekit

    # ------------------------------------------------------------------------------ files

    def key(self, recording: Recording) -> str:
        """``<RECORDING_OUTPUT_FOLDER>/<id>.<ext>``, the object key of the recording's file."""
        mode = self.modes.get(recording.mode)
        extension = mode.extension if mode else ("ogg" if recording.mode == "transcript" else "mp4")
        return f"{self.config.recording_output_folder}/{recording.id}.{extension}"

    def metadata_key(self, recording: Recording) -> str:
        return f"{self.config.metadata_collector_output_folder}/{recording.id}-metadata.json"

    def expired_at(self, recording: Recording) -> datetime.datetime | None:
        days = self.config.recording_expiration_days
        return recording.created_at + datetime.timedelta(days=days) if days else None

    def media_path_pattern(self) -> re.Pattern[str]:
        """What ``media-auth`` searches in ``X-Original-URL`` (§7.9)."""
        folder = re.escape(self.config.recording_output_folder)
        return re.compile(rf"/media/{folder}/(?P<id>{UUID_PATTERN})\.(?P<ext>[a-zA-Z0-9]+)")

    def storage_key_pattern(self) -> re.Pattern[str]:
        """The URL-encoded key of a storage event (§7.7): ``(<segment>%2F)*<folder>%2F<uuid>.<ext>``."""
        folder = re.escape(self.config.recording_output_folder.replace("/", "%2F"))
        return re.compile(rf"^(?:[^/]*?%2F)*?{folder}%2F(?P<id>{UUID_PATTERN})\.(?P<ext>[a-zA-Z0-9]+)$")

    # ------------------------------------------------------------------------- completion

    async def load_completion(self, session: AsyncSession, recording: Recording) -> Completion:
        room = await session.get_one(Room, recording.room_id)
        owners = list(
            (
                await session.scalars(
                    select(User)
                    .join(RecordingAccess, RecordingAccess.user_id == User.id)
                    .where(
                        RecordingAccess.recording_id == recording.id, RecordingAccess.role == Role.OWNER.value
                    )
                    .order_by(RecordingAccess.created_at, RecordingAccess.id)
                )
            ).all()
        )
        return Completion(recording, room, owners, self.modes.get(recording.mode))

    async def notify(self, completion: Completion) -> tuple[bool, str | None]:
        """Send what the mode sends (§7.6); (every notification succeeded, the summary job id)."""
        mode, options = completion.mode, completion.recording.options or {}
        if mode is None:
            log.warning(
                "recording %s has mode %r, which no plugin offers",
                completion.recording.id,
                completion.recording.mode,
            )
            return False, None
        if mode.notify == "none":
            return True, None
        if mode.notify == "email":
            sent = await notifications.email_owners(self, completion)
            if not options.get("transcribe"):
                return sent, None
            summarized, job_id = await notifications.summarize(self, completion)
            return sent and summarized, job_id
        return await notifications.summarize(self, completion)

    async def complete(
        self, session: AsyncSession, recording: Recording, *, commit_before_notify: bool
    ) -> str:
        """``handle_complete``: notify, then ``notification_succeeded`` or ``saved``.

        ``commit_before_notify`` ends the session's (read) transaction before the network calls
        (the routes' sessions; a hook's own session stays in its transaction).
        """
        if recording.status not in SAVABLE:
            raise NotSavableError(recording.id)
        completion = await self.load_completion(session, recording)
        if commit_before_notify:
            await session.commit()
        ok, job_id = await self.notify(completion)
        recording.status = (Status.NOTIFICATION_SUCCEEDED if ok else Status.SAVED).value
        if job_id is not None:
            recording.external_process_id = job_id
        await session.flush()
        return recording.status

    async def limit_reached(self, session: AsyncSession, recording: Recording) -> None:
        """Egress hit its limit: the recording is ``stopped`` and the room is told (§7.5)."""
        recording.status = Status.STOPPED.value
        await session.flush()
        mode = self.modes.get(recording.mode)
        if mode is not None and mode.limit_reached_type:
            await egress.notify_room(
                self.livekit, self.config, str(recording.room_id), {"type": mode.limit_reached_type}
            )


class NotSavableError(Exception):
    """The recording is not ``active`` or ``stopped``: it failed, or it was saved already."""

    def __init__(self, recording_id: uuid.UUID) -> None:
        super().__init__(
            f"Recording with ID {recording_id} cannot be saved because it is either, "
            "in an error state or has already been saved."
        )


def iso(value: datetime.datetime | None) -> str | None:
    """DRF's datetime format: ISO 8601 in UTC with ``Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def state_service(holder: Any) -> RecordingService:
    """The application's service (``holder``: a request or the app)."""
    app = getattr(holder, "app", holder)
    service: RecordingService = app.state.meet_recording
    return service
