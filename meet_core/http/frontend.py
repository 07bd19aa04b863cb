"""A built Meet frontend served beside the API, as Meet's nginx does (``MEET_FRONTEND_DIST``).

The official frontend is a single-page application: any path that is not one of its files is
answered with ``index.html`` and its router takes over (``/abc-defg-hij``, ``/recording/<id>``).
:class:`FrontendFiles` wraps the application's ASGI handler: ``GET``/``HEAD`` requests whose
first path segment is not the application's (``api``, ``__heartbeat__``..., ``media``) are
answered from the folder; everything else goes to the application untouched, so an unknown API
path is still a JSON 404 and the API never pays more than one set look-up.

The folder is indexed once, when the application is built: only the files found then are served
(nothing outside the folder can be named, whatever the URL holds), and a rebuilt frontend needs
a restart. Hashed assets (``assets/index-C8XvoIGE.js``) are cached for a year; ``index.html``
and the other files are revalidated (``no-cache`` with an ``ETag``).
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

from meet_core.http.raw import send_small_response

#: First path segments never answered from the frontend, whatever the application's routes:
#: the API, nginx's media location (answered by the API's media-auth), the metrics endpoint.
RESERVED_SEGMENTS = frozenset({"api", "media", "metrics"})

#: Vite's content-hashed file names: ``name-<8 characters of base64url>.ext``.
_HASHED = re.compile(r"-[A-Za-z0-9_-]{8}\.[A-Za-z0-9]+$")
_IMMUTABLE = b"public, max-age=31536000, immutable"
_REVALIDATE = b"no-cache"
_CHUNK = 256 * 1024
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}


class FrontendError(ValueError):
    """The configured folder is not a built frontend."""


@dataclass(frozen=True)
class StaticFile:
    """One file of the frontend and the headers it is answered with."""

    path: str
    size: int
    headers: tuple[tuple[bytes, bytes], ...]
    etag: bytes


def _content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    kind = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    textual = kind.startswith("text/") or kind in {"application/json", "image/svg+xml"}
    return f"{kind}; charset=utf-8" if textual else kind


def index_files(root: str | Path) -> dict[str, StaticFile]:
    """Every regular file under ``root`` by its URL path (``/assets/x.js``); symlinks are followed
    only when they stay inside ``root``."""
    base = Path(root).resolve()
    if not (base / "index.html").is_file():
        raise FrontendError(f"{root} is not a built frontend: it has no index.html")
    files: dict[str, StaticFile] = {}
    for directory, _, names in os.walk(base, followlinks=False):
        for name in names:
            full = Path(directory, name)
            real = full.resolve()
            if not real.is_file() or not real.is_relative_to(base):
                continue
            stat = real.stat()
            url = "/" + full.relative_to(base).as_posix()
            etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'.encode()
            hashed = url.startswith("/assets/") and _HASHED.search(name) is not None
            headers = (
                (b"content-type", _content_type(name).encode()),
                (b"cache-control", _IMMUTABLE if hashed else _REVALIDATE),
                (b"etag", etag),
                (b"last-modified", formatdate(stat.st_mtime, usegmt=True).encode()),
                (b"x-content-type-options", b"nosniff"),
            )
            files[url] = StaticFile(str(real), stat.st_size, headers, etag)
    return files


class FrontendFiles:
    """ASGI wrapper answering the frontend's paths from ``files`` (see the module's doc)."""

    def __init__(self, app: Any, files: dict[str, StaticFile], reserved: frozenset[str]) -> None:
        self.app = app
        self.files = files
        self.index = files["/index.html"]
        self.reserved = reserved

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.split("/", 2)[1] in self.reserved:
            await self.app(scope, receive, send)
            return
        found = self.files.get(path) if path != "/" else self.index
        if found is None:
            if "." in path.rsplit("/", 1)[-1]:  # a missing file, not a page of the application
                await _not_found(send)
                return
            found = self.index
        await _send_file(scope, send, found)


async def _not_found(send: Any) -> None:
    await send_small_response(
        send, 404, b"Not found.\n", b"text/plain; charset=utf-8", (b"cache-control", _REVALIDATE)
    )


def _matches(scope: Any, etag: bytes) -> bool:
    for key, value in scope["headers"]:
        if key == b"if-none-match":
            return value.strip() == b"*" or etag in [tag.strip() for tag in value.split(b",")]
    return False


async def _send_file(scope: Any, send: Any, file: StaticFile) -> None:
    if _matches(scope, file.etag):
        await send({"type": "http.response.start", "status": 304, "headers": list(file.headers)})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [*file.headers, (b"content-length", str(file.size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    if "http.response.pathsend" in scope.get("extensions", {}):  # granian sends it from Rust
        await send({"type": "http.response.pathsend", "path": file.path})
        return
    with open(file.path, "rb") as handle:  # noqa: ASYNC230 - chunks are read off the loop below
        while True:
            chunk = await asyncio.to_thread(handle.read, _CHUNK)
            more = len(chunk) == _CHUNK
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                return


def serve_frontend(app: Any, root: str | Path, route_paths: list[str]) -> FrontendFiles:
    """Wrap ``app`` (an ASGI callable) to serve the frontend in ``root``; ``route_paths`` are
    the application's route paths, whose first segments stay the application's."""
    reserved = RESERVED_SEGMENTS | {p.split("/", 2)[1] for p in route_paths if p.startswith("/")} - {""}
    return FrontendFiles(app, index_files(root), frozenset(reserved))
