"""Sign LiveKit webhook bodies exactly as LiveKit does (for tests of the webhook endpoint)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from google.protobuf import json_format
from livekit import api


def sign_webhook(body: bytes, api_key: str = "devkey", api_secret: str = "secret") -> str:
    """The ``Authorization`` header value LiveKit sends: a bare JWT carrying the body's SHA-256."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return api.AccessToken(api_key, api_secret).with_sha256(digest).to_jwt()


def webhook_body(event: str, **fields: Any) -> bytes:
    """A ``WebhookEvent`` as LiveKit's JSON (``room``, ``participant``, ``egress_info``, ``id``...)."""
    message = api.WebhookEvent(event=event)
    json_format.ParseDict(fields, message, ignore_unknown_fields=False)
    return json_format.MessageToJson(message, indent=None).encode()
