"""Reading JSON bodies ourselves, so that bad input gets the old system's 400 shapes."""

from __future__ import annotations

import math
import re
from itertools import accumulate
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from meet_core.http.errors import ApiError, FieldErrors, detail
from meet_core.http.raw import header

#: Deepest nesting of arrays and objects a JSON body may have (docs/configuration.md).
MAX_JSON_DEPTH = 64
#: DRF's message for a text holding U+0000 (PostgreSQL cannot store it in a text column).
NULL_CHARACTER = "Null characters are not allowed."

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``raw`` nests arrays/objects deeper than ``limit``.

    msgspec (and ``json``) recurse once per level: about 1,000 levels blow the interpreter's
    stack (a ``RecursionError``, once a 500). Counting is cheap: a body with no more opening
    brackets than ``limit`` cannot be deeper; otherwise strings are cut out and the brackets
    summed, all in C loops (a few ms for a 2.5 MB body).
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", raw).translate(None, _BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def _holds_null(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _holds_null(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_null(item) for item in value)
    return False


def reject_null_characters(raw: bytes, value: dict[str, Any]) -> None:
    """400 ``{"field": ["Null characters are not allowed."]}`` when a text of the body holds U+0000.

    PostgreSQL refuses U+0000 in text and JSON columns (a 500 once); SQLite would store it:
    refused alike on both, for every field, as DRF's ``CharField`` does. JSON can only carry
    it escaped, so bodies without ``\\u0000`` skip the walk.
    """
    if b"\\u0000" not in raw:
        return
    errors = {key: [NULL_CHARACTER] for key, item in value.items() if "\x00" in key or _holds_null(item)}
    if errors:
        raise FieldErrors(errors)


async def read_json_object(request: Request[Any, Any, Any], *, allow_empty: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; 400 for malformed JSON or another JSON type.

    An empty body reads as ``{}`` (DRF does the same), a form-encoded one is a 415. Nesting
    deeper than :data:`MAX_JSON_DEPTH` is a 400, a text holding U+0000 a 400 field error; the
    size is bounded by ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413, in :func:`read_body`).
    """
    content_type = header(request, b"content-type") or ""
    raw = await read_body(request)
    if not raw.strip():
        if allow_empty:
            return {}
        raise detail(400, "JSON parse error - Expecting value: line 1 column 1 (char 0)")
    if content_type.startswith("application/x-www-form-urlencoded"):
        raise detail(415, f'Unsupported media type "{content_type}" in request.')
    if json_depth_exceeds(raw):
        raise detail(400, f"JSON parse error - Nesting deeper than {MAX_JSON_DEPTH} levels.")
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise detail(400, f"JSON parse error - {exc}") from exc
    except RecursionError as exc:  # unreachable under the depth check; never a 500 anyway
        raise detail(400, "JSON parse error - Nesting too deep.") from exc
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
    reject_null_characters(raw, value)
    return value


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """The request body, as ``request.body()`` gives it, without waiting for an end marker.

    granian sends a body as two ASGI messages: the bytes (``more_body`` true), then an empty
    last one, and every message is a round trip between its I/O thread and the event loop,
    about 50 µs of CPU on a lobby poll. Once ``Content-Length`` bytes are in, the body is
    complete: the empty message is not awaited. Litestar's rules hold (the route's body size
    limit: 413; a bad ``Content-Length``: 400) and the body is kept where ``request.body()``
    finds it; a client gone before the end gets a 400 (Litestar: 500, yet no server fault).
    """
    state = ScopeState.from_scope(request.scope)
    if state.body is not Empty:  # read already
        return state.body
    announced_text = header(request, b"content-length")
    try:
        announced = int(announced_text) if announced_text is not None else None
    except ValueError:
        raise ClientException(f"Invalid content-length: {announced_text!r}") from None
    limit = request.route_handler.resolve_request_max_body_size() or math.inf
    if announced is not None and announced > limit:
        raise RequestEntityTooLarge
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientException("The client went away before the end of the body.")
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]  # an http.request
        if chunk:
            received += len(chunk)
            if received > limit:
                raise RequestEntityTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False) or (announced is not None and received >= announced):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    state.body = body
    return body
