"""The plugin's one table: the PIN of each room (``meet_telephony_room_pin``).

PINs live here rather than in the core's ``meet_room.pin_code`` column: the core knows
nothing of telephony, a disabled plugin leaves the rooms' ``pin_code`` null, and uninstalling
the plugin drops its data with its table (README.md explains the choice).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from meet_core.api import Base
from meet_telephony.settings import MAX_PIN_LENGTH


class RoomPin(Base):
    """A room's PIN; both columns are unique, so two rooms never share a PIN on any database."""

    __tablename__ = "meet_telephony_room_pin"

    room_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meet_room.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    pin: Mapped[str] = mapped_column(String(MAX_PIN_LENGTH), unique=True, nullable=False)
