"""The body of ``start-recording`` (api.md §2.5): any error is one 400 ``Invalid request.``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from meet_core.api import ApiError

INVALID = ApiError(400, {"detail": "Invalid request."})
_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}
_OPTIONS = ("language", "transcribe", "collect_metadata", "original_mode")


def _lax_bool(value: Any) -> bool:
    """pydantic's lax boolean: booleans, 0/1, and the usual words (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise INVALID


def parse_start(body: dict[str, Any], modes: Collection[str]) -> tuple[str, dict[str, Any]]:
    """``(mode, options without null values)``; raises the 400 on anything else."""
    mode = body.get("mode")
    if not isinstance(mode, str) or mode not in modes:
        raise INVALID
    raw = body.get("options")
    if raw is None:
        return mode, {}
    if not isinstance(raw, dict) or set(raw) - set(_OPTIONS):
        raise INVALID
    options: dict[str, Any] = {}
    for name in _OPTIONS:
        value = raw.get(name)
        if value is None:
            continue
        if name == "language":
            if not isinstance(value, str):
                raise INVALID
        elif name == "original_mode":
            if not isinstance(value, str) or value not in modes:
                raise INVALID
        else:
            value = _lax_bool(value)
        options[name] = value
    return mode, options
