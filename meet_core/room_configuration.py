"""What a room's ``configuration`` may hold, and its errors as DRF rendered them (spec/api.md §2.3).

Shared by the rooms (``configuration``) and the users (``default_room_configuration``): it
depends on neither, so neither depends on the other for it.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic

TrackSource = Literal["camera", "microphone", "screen_share", "screen_share_audio"]


class RoomConfiguration(pydantic.BaseModel):
    """What a room's ``configuration`` may hold; unknown keys are rejected."""

    model_config = pydantic.ConfigDict(extra="forbid")

    can_publish_sources: list[TrackSource] | None = None
    everyone_can_mute: bool | None = None


def stringify(value: Any) -> Any:
    """DRF's rendering of a nested error detail: containers kept, every leaf ``str()``-ed."""
    if isinstance(value, dict):
        return {str(key): stringify(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [stringify(item) for item in value]
    return str(value)


def configuration_errors(value: Any) -> list[Any] | None:
    """Pydantic errors of a configuration, or None when valid (``{}`` is always valid)."""
    if value == {}:
        return None
    try:
        RoomConfiguration.model_validate(value)
    except pydantic.ValidationError as exc:
        return [stringify(error) for error in exc.errors()]
    return None
