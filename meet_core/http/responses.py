"""A JSON response for the hot paths, encoded once and handed to the server as it is.

A handler that returns a dict gets a Litestar ``Response`` built, its headers normalised and
its body encoded on the way out: about a tenth of the join path's own cost. The join path
(``GET /rooms/{id}/``) and the lobby poll return :func:`json_response` instead, declared in
the OpenAPI schema with :data:`JSON_OBJECT` so the documentation does not change. Its
headers are encoded to bytes here, once, where ``ASGIResponse`` would normalise them through
a ``MutableScopeHeaders``.
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

#: The same for a route answering 201 (``POST /rooms/``).
JSON_OBJECT_CREATED = {
    201: ResponseSpec(
        data_container=dict[str, Any], generate_examples=False, description="Document created, URL follows"
    )
}


class EncodedJSONResponse(ASGIResponse):
    """An ``ASGIResponse`` built from a JSON body and headers already encoded to bytes."""

    __slots__ = ("_raw_headers",)

    def __init__(
        self,
        body: bytes,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        background: BackgroundTask | None,
    ) -> None:  # ASGIResponse.__init__ is not called: every attribute it reads is set here
        self.body = body
        self.status_code = status_code
        self.background = background
        self.content_length = len(body)
        self.encoding = "utf-8"
        self.is_head_response = False
        self._encoded_cookies = ()
        self._raw_headers = raw_headers

    def encode_headers(self) -> list[tuple[bytes, bytes]]:
        return self._raw_headers


def json_response(
    payload: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> ASGIResponse:
    """``payload`` as ``application/json`` (msgspec), with ``headers`` (e.g. a ``set-cookie``)."""
    body = _encode(payload)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if headers:
        raw_headers += [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
        ]
    return EncodedJSONResponse(body, status_code, raw_headers, background)
