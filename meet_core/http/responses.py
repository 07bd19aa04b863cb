"""A JSON response for the hot paths, encoded once and handed to the server as it is.

A handler that returns a dict gets a Litestar ``Response`` built, its headers normalised and
its body encoded on the way out: about a tenth of the join path's own cost. The join path
(``GET /rooms/{id}/``) and the lobby poll return :func:`json_response` instead, declared in
the OpenAPI schema with :data:`JSON_OBJECT` so the documentation does not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar.background_tasks import BackgroundTask
from litestar.openapi.datastructures import ResponseSpec
from litestar.response.base import ASGIResponse

_encode = msgspec.json.Encoder().encode

#: ``responses=`` of a route returning :func:`json_response` with status 200: a JSON object.
JSON_OBJECT = {
    200: ResponseSpec(
        data_container=dict[str, Any],
        generate_examples=False,
        description="Request fulfilled, document follows",
    )
}


def json_response(
    payload: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> ASGIResponse:
    """``payload`` as ``application/json`` (msgspec), with ``headers`` (e.g. a ``set-cookie``)."""
    return ASGIResponse(
        body=_encode(payload),
        status_code=status_code,
        media_type="application/json",
        headers=dict(headers) if headers else None,
        background=background,
    )
