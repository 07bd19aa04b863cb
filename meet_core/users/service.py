"""Users from OIDC claims (spec/services.md §10) and the queries of the users API.

Matching: exact ``sub`` first; then, with ``OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION``, the
email (trimmed, case-insensitive) — how provisional users invited by email get their
``sub``. Several users with that email, an inactive user, an unknown user with
``OIDC_CREATE_USER=false`` or missing essential claims refuse the login.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.settings.core import CoreSettings
from meet_core.users.models import User

#: The old model's validator for ``sub``.
SUB_PATTERN = re.compile(r"^[\w.@+-]+\Z")
NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254


class LoginRefused(Exception):
    """The claims do not lead to a user who may log in (the reason is logged, not shown)."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def user_fields_from_claims(claims: dict[str, Any], core: CoreSettings) -> dict[str, str | None]:
    """``email``, ``full_name`` (the non-empty full-name fields joined by spaces), ``short_name``."""
    names = [_text(claims.get(field)) for field in core.oidc_userinfo_fullname_fields]
    full_name = " ".join(name for name in names if name) or None
    short_name = _text(claims.get(core.oidc_userinfo_shortname_field))
    email = _text(claims.get("email"))
    return {
        "email": email if email and len(email) <= EMAIL_MAX_LENGTH else None,
        "full_name": full_name[:NAME_MAX_LENGTH] if full_name else None,
        "short_name": short_name[:NAME_MAX_LENGTH] if short_name else None,
    }


async def _find(db_session: AsyncSession, sub: str, email: str | None, core: CoreSettings) -> User | None:
    user = (await db_session.execute(select(User).where(User.sub == sub))).scalar_one_or_none()
    if user is not None or not email or not core.oidc_fallback_to_email_for_identification:
        return user
    matches = (
        (await db_session.execute(select(User).where(func.lower(User.email) == email.lower()).limit(2)))
        .scalars()
        .all()
    )
    if len(matches) > 1:
        raise LoginRefused(f"several users share the email {email!r}")
    return matches[0] if matches else None


async def user_from_claims(db_session: AsyncSession, claims: dict[str, Any], core: CoreSettings) -> User:
    """The user the claims identify, created or updated; raises :class:`LoginRefused`."""
    missing = [name for name in ("sub", *core.oidc_userinfo_essential_claims) if not claims.get(name)]
    if missing:
        raise LoginRefused(f"claims missing: {', '.join(missing)}")
    sub = str(claims["sub"])
    if len(sub) > 255 or not SUB_PATTERN.match(sub):
        raise LoginRefused(f"invalid sub {sub!r}")
    fields = user_fields_from_claims(claims, core)

    user = await _find(db_session, sub, fields["email"], core)
    if user is None:
        if not core.oidc_create_user:
            raise LoginRefused(f"no user for sub {sub!r} and OIDC_CREATE_USER is off")
        user = User(sub=sub, language=core.language_code, timezone=core.time_zone, **fields)
        db_session.add(user)
        await db_session.flush()
        return user
    if not user.is_active:
        raise LoginRefused(f"user {user.id} is disabled")
    if user.sub != sub and (not user.sub or not core.oidc_user_sub_field_immutable):
        user.sub = sub
    for name, value in fields.items():
        if value and getattr(user, name) != value:
            setattr(user, name, value)
    await db_session.flush()
    return user
