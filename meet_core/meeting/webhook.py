"""The LiveKit webhook (``POST /api/v1.0/rooms/webhooks-livekit/``, spec/services.md §3).

Checks, in the old order: an ``Authorization`` header (else 401), LiveKit's signature over
the exact raw body (:class:`WebhookVerifier`: HS256 with our secret, issuer = our key, body
SHA-256 claim; else 400), the connection-test and ``LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX``
skips (200), then the event type (422 for one LiveKit does not document). Every error body
is ``{"status": "error"}``.

What the event means is the plugins' business (``meet_livekit_event``): each implementation
runs isolated, so one failing plugin neither stops the others nor fails the delivery, and
rooms that are not registered (slug names) are a normal case. LiveKit retries deliveries:
each event id is remembered in Valkey (``SET NX EX``) and a repeated id is answered 200
without being dispatched again.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from jwt.algorithms import HMACAlgorithm
from litestar import Request, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.response.base import ASGIResponse
from livekit.api import WebhookEvent

from meet_core.http import API_PREFIX
from meet_core.http.body import read_body
from meet_core.http.openapi import WebhookStatus, error_responses, request_body
from meet_core.http.raw import header as raw_header
from meet_core.http.responses import EncodedJSONResponse
from meet_core.meeting.event_json import parse_event
from meet_core.settings.core import CoreSettings
from meet_core.state import core_settings, hooks, livekit_webhook_setup, metrics, pipelined_valkey

log = logging.getLogger("meet_core.meeting.webhook")

#: The event types LiveKit documents; anything else is a 422.
EVENT_TYPES = frozenset(
    {
        "room_started",
        "room_finished",
        "participant_joined",
        "participant_left",
        "track_published",
        "track_unpublished",
        "egress_started",
        "egress_updated",
        "egress_ended",
        "ingress_started",
        "ingress_ended",
    }
)
REPLAY_PREFIX = "livekit-webhook:"


class WebhookVerifier:
    """``livekit.api.WebhookReceiver.receive`` with the HMAC key prepared once per application.

    ``TokenVerifier`` makes PyJWT prepare the key (a PEM/DER probe), re-validate every
    base64 character and build LiveKit's grant objects on each delivery, ~100 µs we don't
    need. The same checks: the JWT's HMAC-SHA256 (constant-time comparison, as PyJWT's)
    over its exact segments, header ``alg`` HS256 (no ``crit``, no ``b64``), issuer = our API
    key, ``exp`` required and not past, ``nbf``/``iat`` not in the future (LiveKit's one minute
    of leeway), no ``aud``, then the body's SHA-256 against the ``sha256`` claim.
    """

    _ALGORITHM = HMACAlgorithm(HMACAlgorithm.SHA256)
    LEEWAY = 60.0

    def __init__(self, api_key: str, api_secret: str) -> None:
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret must be set")
        self._issuer = api_key
        self._key = self._ALGORITHM.prepare_key(api_secret)
        # LiveKit signs every delivery with the same header: once checked, it is known.
        self._good_headers: set[bytes] = set()

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; ValueError (or a decoding error) when not valid."""
        signing_input, _, signature = token.encode("ascii").rpartition(b".")
        header_segment, dot, payload_segment = signing_input.partition(b".")
        if not dot or b"." in payload_segment:
            raise ValueError("not a JWS in compact form")
        if header_segment not in self._good_headers:
            header = json.loads(_b64url(header_segment))
            if not isinstance(header, dict) or header.get("alg") != "HS256":
                raise ValueError("unsupported JWT header")
            if {"crit", "b64"} & header.keys():
                raise ValueError("unsupported JWT header")
            if len(self._good_headers) >= 16:
                self._good_headers.clear()
            self._good_headers.add(header_segment)
        # PyJWT's HMACAlgorithm.verify, with the one-shot C HMAC (hmac.new is ~4 µs of Python).
        expected = hmac.digest(self._key, signing_input, "sha256")
        if not hmac.compare_digest(expected, _b64url(signature)):
            raise ValueError("signature verification failed")
        claims = msgspec.json.decode(_b64url(payload_segment))  # signed: LiveKit's own JSON
        if not isinstance(claims, dict):
            raise ValueError("the JWT payload is not an object")
        now = time.time()
        if claims.get("iss") != self._issuer:
            raise ValueError("invalid issuer")
        if "aud" in claims:
            raise ValueError("unexpected audience")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now - self.LEEWAY:
            raise ValueError("expired or no expiry")
        for name in ("nbf", "iat"):
            if name in claims and (not _is_number(claims[name]) or claims[name] > now + self.LEEWAY):
                raise ValueError(f"not yet valid ({name})")
        return claims

    def receive(self, body: bytes, token: str) -> WebhookEvent:
        """The event of ``body``, the exact bytes LiveKit signed (their SHA-256 is a claim)."""
        digest = self.claims(token).get("sha256")
        if not digest or not isinstance(digest, str):
            raise ValueError("sha256 was not found in the token")
        if hashlib.sha256(body).digest() != binascii.a2b_base64(digest):
            raise ValueError("hash mismatch")
        return parse_event(body.decode("utf-8"))


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64url(segment: bytes) -> bytes:
    """PyJWT's ``base64url_decode`` (padding added, non-alphabet bytes skipped), without its layers."""
    return binascii.a2b_base64(segment.translate(_URLSAFE) + b"=" * (-len(segment) % 4))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class WebhookSetup:
    """Built once per application: the verifier and the compiled filter (None = no filter)."""

    receiver: WebhookVerifier
    room_filter: re.Pattern[str] | None


def webhook_setup(core: CoreSettings) -> WebhookSetup:
    """The receiver and the compiled filter of an application (built by ``create_app``)."""
    room_filter = None
    if core.livekit_webhook_events_filter_regex:
        try:
            room_filter = re.compile(core.livekit_webhook_events_filter_regex)
        except re.error as exc:
            log.error("invalid LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX, webhook filtering disabled: %s", exc)
    receiver = WebhookVerifier(core.livekit_api_key, core.livekit_api_secret)
    return WebhookSetup(receiver=receiver, room_filter=room_filter)


def _count(request: Request[Any, Any, Any], event: str, outcome: str) -> None:
    """``meet_livekit_webhook_events`` (when metrics are on); unknown types count as ``other``."""
    counters = metrics(request)
    if counters is not None:
        counters.webhook_events.labels(event if event in EVENT_TYPES else "other", outcome).inc()


def _answer(status_code: int, status: str) -> ASGIResponse:
    """``{"status": ...}``: the body and headers are constants, no Litestar ``Response`` built."""
    return EncodedJSONResponse(_BODIES[status], status_code, _HEADERS[status], None)


_BODIES = {status: msgspec.json.encode({"status": status}) for status in ("success", "error")}
_HEADERS = {
    status: [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    for status, body in _BODIES.items()
}


async def _first_delivery(request: Request[Any, Any, Any], event_id: str, ttl: int) -> bool:
    """Remember ``event_id`` for ``ttl`` seconds; False when it was already seen (a LiveKit retry)."""
    if not event_id:
        return True
    # Pipelined: batched with the other requests' Valkey calls (valkey-py costs ~150 µs a call).
    reply = await pipelined_valkey(request).execute(
        "SET", f"{REPLAY_PREFIX}{event_id}", b"1", "NX", "EX", ttl
    )
    return reply is not None


#: The 200 answer in the OpenAPI document, as Litestar described it when the route returned a dict.
_SUCCESS = ResponseSpec(
    data_container=dict[str, str], generate_examples=False, description="Request fulfilled, document follows"
)


@post(
    f"{API_PREFIX}/rooms/webhooks-livekit",
    status_code=200,
    summary="LiveKit webhook",
    tags=["rooms"],
    # LiveKit's event (protobuf JSON), signed by the ``Authorization`` header.
    dependencies=request_body(dict[str, Any]),
    responses=error_responses(
        400,
        401,
        422,
        503,
        shapes={400: WebhookStatus, 401: WebhookStatus, 422: WebhookStatus},
        extra={200: _SUCCESS},
    ),
)
async def livekit_webhook(request: Request[Any, Any, Any]) -> ASGIResponse:
    """Verify, filter, de-duplicate and hand a LiveKit event to the plugins."""
    header = raw_header(request, b"authorization")
    if not header:
        _count(request, "", "rejected")
        return _answer(401, "error")
    setup = livekit_webhook_setup(request)
    try:
        event: WebhookEvent = setup.receiver.receive(await read_body(request), header)  # else ValueError
    except Exception as exc:  # bad JWT, hash mismatch, undecodable or malformed body
        log.info("rejected LiveKit webhook: %s", exc)
        _count(request, "", "rejected")
        return _answer(400, "error")

    room_name = event.room.name or event.egress_info.room_name
    core = core_settings(request)
    if core.connection_test_room_prefix and room_name.startswith(core.connection_test_room_prefix):
        _count(request, event.event, "skipped")
        return _answer(200, "success")
    if setup.room_filter is not None and not setup.room_filter.search(room_name):
        _count(request, event.event, "skipped")
        return _answer(200, "success")
    if event.event not in EVENT_TYPES:
        log.info("unknown LiveKit webhook event type %r", event.event)
        _count(request, event.event, "unknown_type")
        return _answer(422, "error")
    if not await _first_delivery(request, event.id, core.livekit_webhook_replay_ttl):
        log.info("LiveKit webhook event %s already processed", event.id)
        _count(request, event.event, "duplicate")
        return _answer(200, "success")
    await hooks(request).livekit_event(request, event)
    _count(request, event.event, "dispatched")
    return _answer(200, "success")


ROUTES = [livekit_webhook]
