"""The plugin's tables: ``meet_recording`` and ``meet_recording_access`` (spec/api.md §3.4).

The old names are kept. At most one recording per room is ``initiated`` or ``active``: a partial
unique index (SQLite and PostgreSQL both support them) makes the database refuse the second
one, so two concurrent starts cannot both pass.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meet_core.api import Base, Role, Room


class Status(enum.StrEnum):
    """The statuses of services.md §7.1."""

    INITIATED = "initiated"
    ACTIVE = "active"
    STOPPED = "stopped"
    SAVED = "saved"
    ABORTED = "aborted"
    FAILED_TO_START = "failed_to_start"
    FAILED_TO_STOP = "failed_to_stop"
    NOTIFICATION_SUCCEEDED = "notification_succeeded"
    EXTERNAL_PROCESS_SUCCESSFUL = "external_process_successful"
    EXTERNAL_PROCESS_FAILED = "external_process_failed"


IN_PROGRESS = frozenset({Status.INITIATED, Status.ACTIVE})
FINAL = frozenset(
    {
        Status.STOPPED,
        Status.SAVED,
        Status.ABORTED,
        Status.EXTERNAL_PROCESS_SUCCESSFUL,
        Status.EXTERNAL_PROCESS_FAILED,
        Status.FAILED_TO_START,
        Status.FAILED_TO_STOP,
    }
)
SAVABLE = frozenset({Status.ACTIVE, Status.STOPPED})
SAVED = frozenset(
    {
        Status.NOTIFICATION_SUCCEEDED,
        Status.SAVED,
        Status.EXTERNAL_PROCESS_SUCCESSFUL,
        Status.EXTERNAL_PROCESS_FAILED,
    }
)

_IN_PROGRESS_SQL = text("status IN ('initiated', 'active')")


class Recording(Base):
    """One recording of a room; ``worker_id`` is the LiveKit egress id."""

    __tablename__ = "meet_recording"
    __table_args__ = (
        Index(
            "meet_recording_unique_in_progress_per_room",
            "room_id",
            unique=True,
            sqlite_where=_IN_PROGRESS_SQL,
            postgresql_where=_IN_PROGRESS_SQL,
        ),
    )

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meet_room.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(50), default=Status.INITIATED.value)
    worker_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    mode: Mapped[str] = mapped_column(String(50), default="screen_recording")
    options: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    external_process_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)

    room: Mapped[Room] = relationship(lazy="raise")

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


class RecordingAccess(Base):
    """A user's (or a team's: always empty, as in the old system) role on a recording."""

    __tablename__ = "meet_recording_access"
    __table_args__ = (
        UniqueConstraint("user_id", "recording_id", name="meet_recording_access_unique_user"),
        Index(
            "meet_recording_access_unique_team",
            "team",
            "recording_id",
            unique=True,
            sqlite_where=text("team != ''"),
            postgresql_where=text("team != ''"),
        ),
        CheckConstraint(
            "(user_id IS NOT NULL AND team = '') OR (user_id IS NULL AND team != '')",
            name="user_xor_team",
        ),
    )

    recording_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meet_recording.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("meet_user.id", ondelete="CASCADE"), index=True, nullable=True
    )
    team: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20), default=Role.MEMBER.value)


def abilities(recording: Recording, role: str | None) -> dict[str, bool]:
    """What a caller with ``role`` on the recording may do (api.md §3.5; room roles are irrelevant)."""
    privileged = role in (Role.OWNER.value, Role.ADMINISTRATOR.value)
    return {
        "destroy": privileged and recording.is_final,
        "partial_update": False,
        "retrieve": privileged,
        "stop": privileged and not recording.is_final,
        "update": False,
    }
