"""Reading JSON bodies ourselves, so that bad input gets the old system's 400 shapes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from meet_core.http.errors import ApiError, detail
from meet_core.http.raw import header


async def read_json_object(request: Request[Any, Any, Any], *, allow_empty: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; 400 for malformed JSON or another JSON type.

    An empty body reads as ``{}`` (DRF does the same), a form-encoded one is a 415.
    """
    content_type = header(request, b"content-type") or ""
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise detail(400, "JSON parse error - Expecting value: line 1 column 1 (char 0)")
    if content_type.startswith("application/x-www-form-urlencoded"):
        raise detail(415, f'Unsupported media type "{content_type}" in request.')
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise detail(400, f"JSON parse error - {exc}") from exc
    if not isinstance(value, dict):
        raise ApiError(
            400,
            {
                "non_field_errors": [
                    "Invalid data. Expected a dictionary, but got {}.".format(
                        type(value).__name__ if not isinstance(value, list) else "list"
                    )
                ]
            },
        )
    return value
