"""The plugin's one table: the files (``meet_files_file``, api.md §3.6).

``id`` may be chosen by the client on creation. Soft delete sets ``deleted_at``; the purge
command removes rows (and their objects) soft-deleted longer than ``FILE_PURGE_GRACE_DAYS``,
or marked ``hard_deleted_at``.
"""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from meet_core.api import Base


class UploadState:
    """The upload's life: ``pending`` (waiting for the browser), ``analyzing``, ``ready``."""

    PENDING = "pending"
    ANALYZING = "analyzing"
    READY = "ready"
    ALL = (PENDING, ANALYZING, READY)


#: File types (only background images for now).
FILE_TYPES = ("background_image",)


class File(Base):
    """An uploaded file of a user (the old ``core.File``)."""

    __tablename__ = "meet_files_file"
    __table_args__ = (Index("ix_meet_files_file_creator_type_created", "creator_id", "type", "created_at"),)

    type: Mapped[str] = mapped_column(String(50), nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    creator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("meet_user.id", ondelete="RESTRICT"), nullable=True
    )
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    hard_deleted_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    upload_state: Mapped[str] = mapped_column(String(20), nullable=False, default=UploadState.PENDING)
    mimetype: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")

    @property
    def extension(self) -> str:
        """The uploaded name's extension, as given (``.PNG`` stays ``.PNG``), or ``""``."""
        import os.path

        return os.path.splitext(self.filename)[1]
