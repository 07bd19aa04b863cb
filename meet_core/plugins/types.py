"""Values exchanged between the core and plugins through hooks."""

from __future__ import annotations

import msgspec


class JoinDecision(msgspec.Struct, frozen=True):
    """A plugin's permission for a caller to get a LiveKit token for a room.

    ``participant_id`` becomes the LiveKit identity of an anonymous caller (e.g. the lobby
    id); ``color`` overrides the color derived from the identity.
    """

    participant_id: str | None = None
    color: str | None = None
