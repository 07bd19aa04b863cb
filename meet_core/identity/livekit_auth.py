"""Authentication by a participant's LiveKit token (``Authorization: Bearer <LiveKit JWT>``).

Used by the in-meeting endpoints the frontend calls with the room token (toggle-hand,
rename, start-subtitle, mute). The token is verified with our API key and secret (HS256,
issuer = API key, 60 s leeway). It only proves membership of its ``video.room``: it never
grants admin powers. Every failure is a 403, as in the old system (no ``WWW-Authenticate``).
"""

from __future__ import annotations

from typing import Any

import jwt
import msgspec
from litestar import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http.errors import permission_denied
from meet_core.state import livekit_verifier
from meet_core.users.models import User


class LiveKitCaller(msgspec.Struct, frozen=True):
    """The verified caller: LiveKit identity, room of the token, its claims and user if known."""

    identity: str
    room: str
    claims: dict[str, Any]
    user: User | None = None


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The bearer token, None without an Authorization header, 403 when malformed."""
    header = request.headers.get("authorization")
    if not header:
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise permission_denied("Authorization header must be: Bearer <token>")
    return parts[1]


async def livekit_caller(
    request: Request[Any, Any, Any], db_session: AsyncSession | None = None, *, room_name: str | None = None
) -> LiveKitCaller:
    """Verify the bearer LiveKit token; with ``room_name``, it must be a token for that room."""
    token = bearer_token(request)
    if token is None:
        raise permission_denied("Authentication credentials were not provided.")
    try:
        claims = livekit_verifier(request).verify(token)
    except jwt.PyJWTError as exc:
        raise permission_denied(f"Invalid LiveKit token: {exc}") from exc
    except Exception as exc:  # the SDK raises plain exceptions for bad grants
        raise permission_denied(f"Invalid LiveKit token: {exc}") from exc
    identity = claims.identity
    if not identity:
        raise permission_denied("Invalid LiveKit token: no identity")
    video = claims.video
    token_room = (video.room if video else None) or ""
    if room_name is not None and token_room != room_name:
        raise permission_denied("You do not have permission to perform this action.")
    user = None
    if db_session is not None:
        user = await db_session.scalar(select(User).where(User.sub == identity, User.is_active.is_(True)))
    raw = {
        "sub": identity,
        "name": claims.name,
        "video": {"room": token_room},
        "attributes": claims.attributes,
    }
    return LiveKitCaller(identity=identity, room=token_room, claims=raw, user=user)
