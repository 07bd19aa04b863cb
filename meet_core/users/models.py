"""The User model (table ``meet_user``), as in the old system's data model (spec/api.md §3.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import Boolean, RowMapping, String
from sqlalchemy.orm import Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.sql.elements import KeyedColumnElement

from meet_core.db import Base, built_as_loaded


class User(Base):
    """A person known through OIDC. ``sub`` is NULL for provisional users (invited by email)."""

    __tablename__ = "meet_user"
    sub: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    admin_email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    full_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    short_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    language: Mapped[str] = mapped_column(String(10), default="en-us")
    timezone: Mapped[str] = mapped_column(String(63), default="UTC")
    default_room_access_level: Mapped[str | None] = mapped_column(String(20), nullable=True)
    default_room_configuration: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    is_device: Mapped[bool] = mapped_column(Boolean, default=False)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.email or self.admin_email or str(self.id)


#: The user's columns (their names, then themselves), to read users with Core (one row, no
#: ORM loading) and build them with :func:`detached_user`.
USER_FIELDS: tuple[str, ...] = tuple(c.key for c in User.__mapper__.column_attrs if c.key != "_sentinel")
USER_COLUMNS: list[KeyedColumnElement[Any]] = [User.__table__.c[name] for name in USER_FIELDS]


def detached_user(row: RowMapping | Mapping[str, Any], prefix: str = "") -> User:
    """A ``User`` from a row of :data:`USER_COLUMNS` (labelled ``prefix + name``), as if loaded.

    Detached, not transient: a handler that adds it (or an object referencing it) to a
    session attaches it without an INSERT, and changes to it are flushed as an UPDATE.
    Built as SQLAlchemy's loading builds instances (an empty instance, then its ``__dict__``),
    not through ``User(**columns)``, whose attribute events cost three times as much (every
    logged-in request builds one).
    """
    user = built_as_loaded(User, {name: row[prefix + name] for name in USER_FIELDS})
    make_transient_to_detached(user)
    return user
