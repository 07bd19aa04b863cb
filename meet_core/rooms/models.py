"""Room and ResourceAccess (tables ``meet_room``, ``meet_resource_access``; spec/api.md §3.3).

The old system splits Room over a ``meet_resource`` parent table; one table does here
(see docs/compatibility.md).
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meet_core.db import Base
from meet_core.users.models import User


class Role(enum.StrEnum):
    """A user's role in a room (``ResourceAccess.role``); administrators and owners are privileged."""

    MEMBER = "member"
    ADMINISTRATOR = "administrator"
    OWNER = "owner"


class AccessLevel(enum.StrEnum):
    """Who joins a room directly: anyone (public), logged-in users (trusted), members (restricted)."""

    PUBLIC = "public"
    TRUSTED = "trusted"
    RESTRICTED = "restricted"


#: Role precedence: the highest role of a user wins.
ROLE_RANK = {Role.MEMBER.value: 1, Role.ADMINISTRATOR.value: 2, Role.OWNER.value: 3}
#: The roles that administer a room (the privilege check: ``rooms.lookup.require_privileged``).
PRIVILEGED_ROLES = frozenset({Role.ADMINISTRATOR.value, Role.OWNER.value})


class Room(Base):
    """A meeting room. Its LiveKit room name is ``str(id)``."""

    __tablename__ = "meet_room"

    name: Mapped[str] = mapped_column(String(500))
    slug: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    access_level: Mapped[str] = mapped_column(String(20), default=AccessLevel.PUBLIC.value)
    configuration: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    pin_code: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)

    accesses: Mapped[list[ResourceAccess]] = relationship(
        back_populates="room", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )


class ResourceAccess(Base):
    """The role of a user in a room; one per (user, room)."""

    __tablename__ = "meet_resource_access"
    __table_args__ = (UniqueConstraint("user_id", "resource_id", name="meet_resource_access_unique_user"),)

    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meet_room.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meet_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.MEMBER.value)

    room: Mapped[Room] = relationship(back_populates="accesses", lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")
