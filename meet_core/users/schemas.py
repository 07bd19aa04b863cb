"""The user object of the API and the validation of its updates (spec/api.md §2.2).

Read-only keys (``id``, ``email``, ``full_name``, ``short_name``) and unknown keys are
ignored on update; errors use DRF's messages in the ``{"field": ["message"]}`` shape.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal, Protocol

import msgspec

from meet_core.http.errors import FieldErrors
from meet_core.room_configuration import RoomConfiguration, configuration_errors
from meet_core.settings.core import CoreSettings

ACCESS_LEVELS = ("public", "trusted", "restricted")
EDITABLE_FIELDS = ("timezone", "language", "default_room_access_level", "default_room_configuration")
REQUIRED_ON_PUT = ("timezone",)


class UserLike(Protocol):
    """What :func:`user_json` reads: a ``User``, or a row holding :data:`USER_JSON_FIELDS`."""

    @property
    def id(self) -> Any: ...
    @property
    def email(self) -> str | None: ...
    @property
    def full_name(self) -> str | None: ...
    @property
    def short_name(self) -> str | None: ...
    @property
    def timezone(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def default_room_access_level(self) -> str | None: ...
    @property
    def default_room_configuration(self) -> dict[str, Any] | None: ...


#: The columns :func:`user_json` reads (a query selecting them can skip the ORM).
USER_JSON_FIELDS = (
    "id",
    "email",
    "full_name",
    "short_name",
    "timezone",
    "language",
    "default_room_access_level",
    "default_room_configuration",
)


def user_json(user: UserLike | Mapping[str, Any]) -> dict[str, Any]:
    """The user as the API shows it, from a ``User`` or from a mapping of its columns."""
    if isinstance(user, Mapping):
        values = [user[name] for name in USER_JSON_FIELDS]
    else:
        values = [getattr(user, name) for name in USER_JSON_FIELDS]
    shown = dict(zip(USER_JSON_FIELDS, values, strict=True))
    shown["id"] = str(shown["id"])
    shown["default_room_configuration"] = shown["default_room_configuration"] or {}
    return shown


class UserPatchBody(msgspec.Struct, kw_only=True):
    """The documented body of ``PATCH users/{id}/`` (checked by :func:`validate_update`).

    ``timezone`` is an IANA zone name, ``language`` one of ``LANGUAGES``; read-only and
    unknown keys are ignored.
    """

    timezone: str | msgspec.UnsetType = msgspec.UNSET
    language: str | msgspec.UnsetType = msgspec.UNSET
    default_room_access_level: Literal["public", "trusted", "restricted", ""] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    default_room_configuration: RoomConfiguration | msgspec.UnsetType = msgspec.UNSET


class UserBody(UserPatchBody, kw_only=True):
    """The documented body of ``PUT users/{id}/``: ``timezone`` required."""

    timezone: str


@cache
def timezones() -> frozenset[str]:
    """Every IANA zone name known to this system (``zoneinfo``)."""
    return frozenset(zoneinfo.available_timezones())


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _choice(value: Any, choices: Any, *, allow_null: bool = False, allow_blank: bool = False) -> str | None:
    if value is None:
        if allow_null:
            return None
        raise ValueError("This field may not be null.")
    if value == "" and allow_blank:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) in choices:
        return str(value)
    raise ValueError(f'"{_display(value)}" is not a valid choice.')


class _NestedErrors(ValueError):
    """Errors that are already a list (pydantic's, for a room configuration)."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("invalid configuration")
        self.errors = errors


def _configuration(value: Any) -> dict[str, Any]:
    """A JSON object valid as a room configuration (``{}`` means "no preference")."""
    if value is None:
        raise ValueError("This field may not be null.")
    if not isinstance(value, dict):
        raise ValueError(f'Expected a dictionary of items but got type "{type(value).__name__}".')
    errors = configuration_errors(value)
    if errors:
        raise _NestedErrors(errors)
    return value


def validate_update(body: dict[str, Any], *, partial: bool, core: CoreSettings) -> dict[str, Any]:
    """The changes a PUT (``partial=False``) or PATCH asks for; raises :class:`FieldErrors`."""
    validators = {
        "timezone": lambda v: _choice(v, timezones()),
        "language": lambda v: _choice(v, core.languages),
        "default_room_access_level": lambda v: _choice(v, ACCESS_LEVELS, allow_null=True, allow_blank=True),
        "default_room_configuration": _configuration,
    }
    changes: dict[str, Any] = {}
    errors: dict[str, list[Any]] = {}
    for name in EDITABLE_FIELDS:
        if name not in body:
            if not partial and name in REQUIRED_ON_PUT:
                errors[name] = ["This field is required."]
            continue
        try:
            changes[name] = validators[name](body[name])
        except _NestedErrors as exc:
            errors[name] = exc.errors
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise FieldErrors(errors)
    return changes
