"""One header or one cookie read straight from the ASGI scope, for the hot paths; and a small
whole response sent straight to ASGI, for the middlewares that answer before Litestar routes.

``request.headers`` builds Litestar's header mapping on first use and ``request.cookies``
parses every cookie (about 8 µs each, a few percent of a lobby poll); a route that needs
one or two values reads them here instead. Same answers: names are given in lower case, as
ASGI servers pass them; the first occurrence wins; a quoted cookie value falls back to
Litestar's parser, which unquotes it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request


def header(request: Request[Any, Any, Any], name: bytes) -> str | None:
    """The first value of header ``name`` (lower case, as ASGI servers give names), or None."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def cookie(request: Request[Any, Any, Any], name: str) -> str | None:
    """The value of cookie ``name``, or None (also when there is no ``Cookie`` header)."""
    raw = header(request, b"cookie")
    if raw is None or name not in raw:
        return None
    for part in raw.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if value.startswith('"'):
                return request.cookies.get(name)
            return value
    return None


async def send_small_response(
    send: Any, status: int, body: bytes, content_type: bytes, *headers: tuple[bytes, bytes]
) -> None:
    """Send a whole response (``body`` with its type, length and ``headers``) to ASGI ``send``."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
