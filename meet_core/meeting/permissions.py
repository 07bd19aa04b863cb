"""The ``permission`` object of update-participant (spec/services.md §6.2).

Validated with pydantic as the old system did, so unknown keys and wrong types come back as
pydantic's error list under ``permission``. The fields of
``PARTICIPANT_FORBIDDEN_PERMISSION_FIELDS`` (default ``hidden, recorder, agent``) may not be
set: a room administrator must not be able to hide a participant or pass one off as a
recorder or an agent. The old system answered that with a non-JSON 400; this one answers
``{"permission": ["..."]}``.

The result is a full ``ParticipantPermission``: LiveKit replaces the whole object, so an
omitted boolean becomes false. Source names are sent as LiveKit's upper-case enum names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import pydantic
from livekit.protocol import models

from meet_core.http.errors import FieldErrors

Source = Literal["camera", "microphone", "screen_share", "screen_share_audio"]


class ParticipantPermission(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    can_subscribe: bool | None = None
    can_publish: bool | None = None
    can_publish_data: bool | None = None
    can_publish_sources: list[Source] | None = None
    hidden: bool | None = None
    recorder: bool | None = None
    can_update_metadata: bool | None = None
    agent: bool | None = None
    can_subscribe_metrics: bool | None = None


def _error_item(error: Any) -> dict[str, Any]:
    """A pydantic error as plain JSON (``ctx`` values may be exceptions)."""
    item: dict[str, Any] = {
        "type": error["type"],
        "loc": list(error["loc"]),
        "msg": error["msg"],
        "input": error.get("input"),
        "url": error.get("url"),
    }
    if error.get("ctx"):
        item["ctx"] = {key: str(value) for key, value in error["ctx"].items()}
    return item


def validate_permission(value: dict[str, Any], errors: dict[str, Any]) -> ParticipantPermission | None:
    """The validated permission, or None with pydantic's errors recorded under ``permission``."""
    try:
        return ParticipantPermission.model_validate(value)
    except pydantic.ValidationError as exc:
        errors["permission"] = [_error_item(e) for e in exc.errors(include_url=True)]
        return None


def to_livekit(permission: ParticipantPermission, forbidden: Iterable[str]) -> models.ParticipantPermission:
    """The full LiveKit permission; 400 when a forbidden field is set (not null)."""
    refused = [name for name in forbidden if getattr(permission, name, None) is not None]
    if refused:
        raise FieldErrors({"permission": [f"These permissions may not be set: {', '.join(refused)}."]})
    fields = permission.model_dump(exclude_none=True)
    sources = fields.pop("can_publish_sources", None)
    if sources is not None:
        fields["can_publish_sources"] = [models.TrackSource.Value(source.upper()) for source in sources]
    return models.ParticipantPermission(**fields)
