"""What the OpenAPI document says about routes that read their body by hand.

Most handlers decode their body themselves (:func:`meet_core.http.body.read_json_object`) to
answer the old system's error shapes and keep the hot paths fast, so Litestar cannot infer
a request body from their signature. Two decorator arguments describe them instead, at
build time only:

* ``dependencies=request_body(SomeStruct)``: the JSON body is ``SomeStruct`` (a msgspec
  Struct, or any type Litestar documents). It is declared as a dependency taking ``data``,
  which Litestar's OpenAPI generation reads as the route's body; no handler asks for that
  dependency, so it is never resolved: the body is still parsed by the handler alone and a
  request pays nothing for it.
* ``responses=error_responses(400, 401, 404, ...)``: the error answers a route can give,
  each with its real shape (:data:`SHAPES`); ``shapes={404: Detail | ActionError}`` for a
  route whose answer differs, ``extra=`` for its success response (e.g. ``JSON_OBJECT``).

Plugins use the same two helpers on their routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body

__all__ = [
    "NON_BLANK",
    "SHAPES",
    "ActionError",
    "BadRequest",
    "Detail",
    "FieldErrors",
    "Message",
    "WebhookStatus",
    "error_responses",
    "request_body",
]


#: ``msgspec.Meta(pattern=NON_BLANK)``: a text field that is not blank once trimmed (DRF's
#: ``CharField``); JSON Schema patterns are not anchored.
NON_BLANK = r"\S"


class Detail(msgspec.Struct):
    """``{"detail": "..."}``: authentication, permission, lookup, throttle and peer errors."""

    detail: str


class ActionError(msgspec.Struct):
    """``{"error": "..."}``: a room action that failed (LiveKit, recording, role, mail)."""

    error: str


class Message(msgspec.Struct):
    """``{"message": "..."}``: the lobby's decisions."""

    message: str


class WebhookStatus(msgspec.Struct):
    """``{"status": "success" | "error"}``: the LiveKit webhook's answers."""

    status: Literal["success", "error"]


#: ``{"<field>": ["message", ...]}``; items may be pydantic's error objects (a room
#: ``configuration``, a ``permission``) and list fields are keyed by index
#: (``{"emails": {"1": ["Enter a valid email address."]}}``); ``non_field_errors`` too.
FieldErrors = Annotated[
    dict[str, list[str | dict[str, Any]] | dict[str, list[str]]],
    Body(title="FieldErrors", description="Field errors: each invalid key with its messages."),
]

#: A 400: malformed JSON (``{"detail": "JSON parse error - ..."}``) or field errors.
BadRequest = Detail | FieldErrors

DESCRIPTIONS = {
    400: "Malformed JSON or invalid fields",
    401: "Not authenticated",
    403: "Not allowed (CSRF, permission, LiveKit token)",
    404: "Unknown room, object or participant",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Unsupported media type (form-encoded body)",
    422: "Unknown event type",
    429: "Throttled (see Retry-After)",
    502: "LiveKit (or the mail server) failed or cannot be reached",
    503: "The database or Valkey is unavailable, please retry later",
}

#: The usual shape of each error status.
SHAPES: dict[int, Any] = {
    400: BadRequest,
    401: Detail,
    403: Detail,
    404: Detail,
    409: ActionError,
    413: Detail,
    415: Detail,
    429: Detail,
    502: Detail | ActionError,
    503: Detail,
}


def request_body(schema: Any) -> dict[str, Provide]:
    """``dependencies=`` declaring ``schema`` as the route's JSON body in the OpenAPI document."""

    def documented_body(data: Any) -> None:
        """Never called: Litestar documents a dependency's ``data`` as the route's body."""

    documented_body.__annotations__ = {"data": schema, "return": None}
    return {"openapi_request_body": Provide(documented_body, sync_to_thread=False)}


def error_responses(
    *statuses: int, shapes: Mapping[int, Any] | None = None, extra: Mapping[int, ResponseSpec] | None = None
) -> dict[int, ResponseSpec]:
    """``responses=`` listing the error answers ``statuses``, in :data:`SHAPES` unless ``shapes`` says."""
    shapes = {**SHAPES, **(shapes or {})}
    responses = {
        status: ResponseSpec(
            data_container=shapes[status], description=DESCRIPTIONS[status], generate_examples=False
        )
        for status in statuses
    }
    return {**(extra or {}), **responses}
