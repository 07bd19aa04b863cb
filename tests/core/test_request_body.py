"""JSON bodies as ASGI servers deliver them: in one message, in chunks, or with granian's empty
last message, which is not awaited once ``Content-Length`` bytes are in (``read_body``).

The app is driven with raw ASGI messages: an HTTP client cannot choose how a server splits
a body into messages. The route is ``POST /rooms/creation-callback/`` (it reads a JSON body
through ``read_json_object``, as every JSON route does).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

PATH = "/api/v1.0/rooms/creation-callback/"
BODY = b'{"callback_id": "abc"}'
FOUND = {"status": "success", "room": {}}


async def _post(app: Any, messages: list[dict[str, Any]], content_length: str | None) -> tuple[int, Any, int]:
    """Send ``messages`` as the request body; the status, the JSON answer, the messages read."""
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(messages):
            read += 1
            return messages[read - 1]
        await asyncio.Event().wait()  # a client that sends nothing more: never answers
        raise AssertionError("unreachable")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", content_length.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await asyncio.wait_for(app(scope, receive, send), 5)
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return sent[0]["status"], json.loads(body), read


def _message(body: bytes, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_granians_empty_last_message_is_not_awaited(meet_app) -> None:
    meet = await meet_app()
    messages = [_message(BODY, True), _message(b"", False)]
    assert await _post(meet.app, messages, str(len(BODY))) == (200, FOUND, 1)


async def test_a_body_in_chunks_is_read_whole(meet_app) -> None:
    meet = await meet_app()
    chunks = [_message(BODY[:5], True), _message(BODY[5:9], True), _message(BODY[9:], False)]
    assert await _post(meet.app, chunks, str(len(BODY))) == (200, FOUND, 3)
    assert await _post(meet.app, chunks, None) == (200, FOUND, 3)  # no length: up to the last one
    whole = [_message(BODY, False)]
    assert await _post(meet.app, whole, str(len(BODY))) == (200, FOUND, 1)


async def test_bad_lengths_and_a_client_gone_are_4xx(meet_app) -> None:
    meet = await meet_app()
    status, answer, read = await _post(meet.app, [_message(BODY, False)], "many")
    assert (status, read) == (400, 0)
    assert answer == {"detail": "Invalid content-length: 'many'"}
    status, answer, read = await _post(meet.app, [_message(BODY, False)], str(100 * 1024 * 1024))
    assert (status, read) == (413, 0)  # refused before a byte is read (Litestar's 10 MB limit)
    gone = [_message(BODY[:5], True), {"type": "http.disconnect"}]
    status, answer, read = await _post(meet.app, gone, None)
    assert (status, answer, read) == (400, {"detail": "The client went away before the end of the body."}, 2)
