"""Static bearer tokens of the storage and external-process hooks (api.md §0.2).

Scheme case-insensitive, token stripped, compared with ``hmac.compare_digest``; every refusal
is a 401 with ``WWW-Authenticate: Bearer realm=...``.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request

from meet_core.api import ApiError

NOT_CONFIGURED = "Authentication is enabled but token is not configured."
MISSING = "Authorization header is required"
MALFORMED = "Invalid authorization header format."
INVALID = "Invalid token"


def check_bearer(request: Request[Any, Any, Any], expected: str | None, realm: str) -> None:
    def refuse(message: str) -> ApiError:
        return ApiError(401, {"detail": message}, {"WWW-Authenticate": f"Bearer realm='{realm}'"})

    if not expected:
        raise refuse(NOT_CONFIGURED)
    header = request.headers.get("authorization")
    if not header:
        raise refuse(MISSING)
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise refuse(MALFORMED)
    if not hmac.compare_digest(parts[1].strip().encode(), expected.strip().encode()):
        raise refuse(INVALID)
