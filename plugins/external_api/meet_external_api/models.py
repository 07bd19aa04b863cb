"""The plugin's tables: applications and their allowed e-mail domains (spec/api.md §3.7).

``client_secret`` holds an argon2 hash (``credentials.py``), never the secret itself.
"""

from __future__ import annotations

import uuid

from advanced_alchemy.types import JsonB
from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meet_core.api import Base
from meet_external_api.settings import MAX_CLIENT_ID_LENGTH

DOMAIN_MAX_LENGTH = 253
NAME_MAX_LENGTH = 255


class Application(Base):
    """An application acting for users of its allowed domains, within its scopes."""

    __tablename__ = "meet_application"

    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    client_id: Mapped[str] = mapped_column(String(MAX_CLIENT_ID_LENGTH), unique=True, nullable=False)
    client_secret: Mapped[str] = mapped_column(String(255), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JsonB, default=list, nullable=False)


class ApplicationDomain(Base):
    """An e-mail domain an application may act for (lower case; no sub-domains)."""

    __tablename__ = "meet_application_domain"
    __table_args__ = (UniqueConstraint("application_id", "domain"),)

    domain: Mapped[str] = mapped_column(String(DOMAIN_MAX_LENGTH), nullable=False)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meet_application.id", ondelete="CASCADE"), nullable=False
    )
