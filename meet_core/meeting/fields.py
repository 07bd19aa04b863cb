"""Body field checks with DRF's messages, so bad input gets the old system's 400 shapes.

Each ``check_*`` reads one key of a decoded JSON object and either returns the cleaned value
or records the field's messages in ``errors`` (``{"name": ["This field is required."]}``)
and returns :data:`INVALID`. Handlers raise ``FieldErrors(errors)`` once all fields are read,
so every invalid field is reported together, as a DRF serializer does.
"""

from __future__ import annotations

from typing import Any, Final

REQUIRED = "This field is required."
NULL = "This field may not be null."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
NOT_A_BOOLEAN = "Must be a valid boolean."

INVALID: Final = object()
_MISSING: Final = object()

_TRUE = frozenset(
    {True, "1", "true", "True", "TRUE", "t", "T", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}
)
_FALSE = frozenset(
    {False, "0", "false", "False", "FALSE", "f", "F", "n", "N", "no", "No", "NO", "off", "Off", "OFF"}
)


def as_string(value: Any) -> str | None:
    """DRF's CharField coercion: strings, and numbers written out; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def check_string(
    data: dict[str, Any],
    name: str,
    errors: dict[str, Any],
    *,
    required: bool = True,
    allow_blank: bool = False,
    allow_null: bool = False,
    max_length: int | None = None,
) -> Any:
    """A CharField: trimmed string, ``None`` when absent (optional) or null (``allow_null``)."""
    value = data.get(name, _MISSING)
    if value is _MISSING:
        if required:
            errors[name] = [REQUIRED]
            return INVALID
        return None
    if value is None:
        if allow_null:
            return None
        errors[name] = [NULL]
        return INVALID
    text = as_string(value)
    if text is None:
        errors[name] = [NOT_A_STRING]
        return INVALID
    text = text.strip()
    if not text and not allow_blank:
        errors[name] = [BLANK]
        return INVALID
    if max_length is not None and len(text) > max_length:
        errors[name] = [f"Ensure this field has no more than {max_length} characters."]
        return INVALID
    return text


def _required(data: dict[str, Any], name: str, errors: dict[str, Any]) -> Any:
    """The value of a required, non-nullable field, else INVALID with DRF's error recorded."""
    value = data.get(name, _MISSING)
    if value is _MISSING:
        errors[name] = [REQUIRED]
        return INVALID
    if value is None:
        errors[name] = [NULL]
        return INVALID
    return value


def check_boolean(data: dict[str, Any], name: str, errors: dict[str, Any]) -> Any:
    """A required BooleanField (DRF also accepts "true", 1, "on"...)."""
    value = _required(data, name, errors)
    if value is INVALID:
        return INVALID
    try:
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    except TypeError:  # unhashable (list, dict)
        pass
    errors[name] = [NOT_A_BOOLEAN]
    return INVALID


def check_dict(data: dict[str, Any], name: str, errors: dict[str, Any]) -> Any:
    """An optional, nullable dictionary (``None`` when absent or null)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        errors[name] = [f'Expected a dictionary of items but got type "{_type_name(value)}".']
        return INVALID
    return value


def check_choice(data: dict[str, Any], name: str, errors: dict[str, Any], choices: tuple[str, ...]) -> Any:
    """A required ChoiceField."""
    value = _required(data, name, errors)
    if value is INVALID:
        return INVALID
    if not isinstance(value, str) or value not in choices:
        errors[name] = [f'"{value}" is not a valid choice.']
        return INVALID
    return value


def _type_name(value: Any) -> str:
    """The Python type name DRF puts in its messages (``str``, ``list``, ``int``...)."""
    return type(value).__name__
