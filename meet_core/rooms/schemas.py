"""Validation of room bodies with the old system's error shapes (spec/api.md §0.4, §2.3).

Plain field errors are DRF's messages (``{"name": ["This field is required."]}``), collected
for every field at once. ``configuration`` is checked against ``RoomConfiguration``
(``meet_core.room_configuration``) with pydantic and reported as pydantic's error list with
every leaf value stringified, as DRF rendered it:
``{"configuration": [{"type", "loc", "msg", "input", "url", ("ctx")}]}``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from meet_core.http.errors import FieldErrors
from meet_core.http.openapi import NON_BLANK
from meet_core.room_configuration import RoomConfiguration, configuration_errors
from meet_core.rooms.models import AccessLevel

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
NAME_MAX_LENGTH = 500
SLUG_MAX_LENGTH = 100

ACCESS_LEVELS = tuple(level.value for level in AccessLevel)


class RoomInput(msgspec.Struct, kw_only=True):
    """A validated room body: only the keys the client sent (``UNSET`` otherwise)."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    access_level: str | msgspec.UnsetType = msgspec.UNSET
    configuration: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


RoomName = Annotated[str, msgspec.Meta(max_length=NAME_MAX_LENGTH, pattern=NON_BLANK)]


class RoomPatchBody(msgspec.Struct, kw_only=True):
    """The documented body of ``PATCH rooms/{id}/`` (checked by :func:`validate_room_input`).

    ``id``, ``slug``, ``pin_code`` and unknown keys are ignored.
    """

    name: RoomName | msgspec.UnsetType = msgspec.UNSET
    access_level: AccessLevel | msgspec.UnsetType = msgspec.UNSET
    configuration: RoomConfiguration | msgspec.UnsetType = msgspec.UNSET


class RoomBody(RoomPatchBody, kw_only=True):
    """The documented body of ``PUT rooms/{id}/``: ``name`` required."""

    name: RoomName


class RoomCreateBody(RoomBody, kw_only=True):
    """The documented body of ``POST rooms/``: a ``callback_id`` hands the new slug to a poller."""

    callback_id: str | msgspec.UnsetType = msgspec.UNSET


def char_field(value: Any, *, max_length: int | None = None) -> tuple[str | None, str | None]:
    """DRF ``CharField`` (trimmed, not blank): ``(value, None)`` or ``(None, error message)``."""
    if value is None:
        return None, NOT_NULL
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, NOT_A_STRING
    text = str(value).strip()
    if not text:
        return None, NOT_BLANK
    if max_length is not None and len(text) > max_length:
        return None, f"Ensure this field has no more than {max_length} characters."
    return text, None


def choice_field(value: Any, choices: tuple[str, ...]) -> tuple[str | None, str | None]:
    """DRF ``ChoiceField``: ``(value, None)`` or ``(None, error message)``."""
    if value is None:
        return None, NOT_NULL
    if isinstance(value, str) and value in choices:
        return value, None
    # DRF prints the decoded value with Python's str() (``True``, ``['a']``).
    return None, f'"{value}" is not a valid choice.'


def validate_room_input(data: dict[str, Any], *, partial: bool) -> RoomInput:
    """Check a room body (create, PUT, or PATCH with ``partial``); raise every field error at once.

    ``id``, ``slug``, ``pin_code`` and unknown keys are ignored, as read-only fields were.
    """
    errors: dict[str, Any] = {}
    result = RoomInput()
    if "name" in data:
        name, error = char_field(data["name"], max_length=NAME_MAX_LENGTH)
        if error:
            errors["name"] = [error]
        else:
            result.name = name  # type: ignore[assignment]
    elif not partial:
        errors["name"] = [REQUIRED]
    if "configuration" in data:
        configuration = data["configuration"]
        if configuration is None:
            errors["configuration"] = [NOT_NULL]
        elif (problems := configuration_errors(configuration)) is not None:
            errors["configuration"] = problems
        else:
            result.configuration = configuration
    if "access_level" in data:
        level, error = choice_field(data["access_level"], ACCESS_LEVELS)
        if error:
            errors["access_level"] = [error]
        else:
            result.access_level = level  # type: ignore[assignment]
    if errors:
        raise FieldErrors(errors)
    return result
