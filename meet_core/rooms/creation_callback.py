"""The room-creation callback (spec/services.md §9.1): a one-time hand-over of a new room's slug.

``POST /rooms/`` with a ``callback_id`` remembers ``{"slug": ...}`` under
``room-creation-callback_<id>`` for ``ROOM_CREATION_CALLBACK_CACHE_TIMEOUT`` seconds;
``POST /rooms/creation-callback/`` reads it once (GETDEL, atomic across workers).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from meet_core.state import core_settings, valkey_client

PREFIX = "room-creation-callback_"


async def remember(request: Request[Any, Any, Any], callback_id: str, slug: str) -> None:
    timeout = core_settings(request).room_creation_callback_cache_timeout
    await valkey_client(request).set(
        f"{PREFIX}{callback_id}", msgspec.json.encode({"slug": slug}), ex=timeout
    )


async def pop(request: Request[Any, Any, Any], callback_id: str) -> dict[str, Any]:
    """The remembered room (``{"slug": ...}``), deleted by this read; ``{}`` when there is none."""
    raw = await valkey_client(request).getdel(f"{PREFIX}{callback_id}")
    if raw is None:
        return {}
    value = msgspec.json.decode(raw)
    return value if isinstance(value, dict) else {}
