"""Fixtures of the recording plugin's tests: an app wired to the fake LiveKit, a real S3 (moto),
a real SMTP server (aiosmtpd) and a real summary service (HTTP on loopback).

The app fixtures (``meet_app``, ``livekit``, ``s3``...) come from ``meet_core.testing``'s
pytest11 entry point.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from meet_core.testing.factories import session_maker
from meet_core.testing.harness import MeetTestApp
from meet_core.testing.webhooks import sign_webhook, webhook_body
from meet_recording import RecordingPlugin
from meet_recording.models import Recording

API = "/api/v1.0"
BUCKET = "meet-media-storage"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------------ SMTP


class _SmtpHandler:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on loopback: ``.received`` [(recipients, message)], ``.handler.refuse``."""

    def __init__(self) -> None:
        self.handler = _SmtpHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> list[tuple[list[str], EmailMessage]]:
        return self.handler.received

    def env(self) -> dict[str, str]:
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_TIMEOUT": "5"}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


# --------------------------------------------------------------------------- summary service


@dataclass
class SummaryService:
    """A real HTTP server: records each POST (headers, JSON) and answers ``status``/``reply``."""

    port: int
    requests: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    status: int = 200
    reply: Any = field(default_factory=lambda: {"job_id": "job-1"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/tasks/"


@pytest.fixture
def summary_service() -> Iterator[SummaryService]:
    port = free_port()
    service = SummaryService(port)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            service.requests.append((dict(self.headers), json.loads(self.rfile.read(length) or b"null")))
            body = json.dumps(service.reply).encode()
            self.send_response(service.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------------- kit


@dataclass
class Kit:
    """What the recording tests share."""

    meet_app: Any
    livekit: Any
    s3: Any

    async def app(self, plugins: Any = (RecordingPlugin,), **env: str) -> MeetTestApp:
        """An app with the recording plugin, storage on the loopback S3 (bucket created)."""
        self.s3.create_bucket(BUCKET)
        meet: MeetTestApp = await self.meet_app(env={**self.s3.env(BUCKET), **env}, plugins=list(plugins))
        return meet

    @staticmethod
    async def room_with_owner(meet: MeetTestApp) -> tuple[Any, Any]:
        """A room and its owner, logged in on ``meet.client``."""
        owner = await meet.create_user()
        room = await meet.create_room(accesses=[(owner, "owner")])
        await meet.login(owner)
        return room, owner

    @staticmethod
    async def start(meet: MeetTestApp, room: Any, mode: str = "screen_recording", **body: Any) -> Any:
        return await meet.client.post(f"{API}/rooms/{room.id}/start-recording/", json={"mode": mode, **body})

    @staticmethod
    async def recordings(meet: MeetTestApp) -> list[Recording]:
        async with session_maker(meet.app)() as session:
            return list((await session.scalars(select(Recording).order_by(Recording.created_at))).all())

    @staticmethod
    async def recording(meet: MeetTestApp, recording_id: Any) -> Recording:
        async with session_maker(meet.app)() as session:
            found = await session.get(Recording, recording_id)
            assert found is not None
            return found

    @staticmethod
    async def set_status(meet: MeetTestApp, recording_id: Any, status: str) -> None:
        async with session_maker(meet.app)() as session:
            found = await session.get(Recording, recording_id)
            assert found is not None
            found.status = status
            await session.commit()

    @staticmethod
    async def webhook(meet: MeetTestApp, event: str, **fields: Any) -> Any:
        core = meet.app.state.settings.core
        body = webhook_body(event, id=f"EV_{uuid.uuid4().hex}", **fields)
        return await meet.client.post(
            f"{API}/rooms/webhooks-livekit/",
            content=body,
            headers={
                "content-type": "application/webhook+json",
                "authorization": sign_webhook(body, core.livekit_api_key, core.livekit_api_secret),
            },
        )


@pytest.fixture
def kit(meet_app: Any, livekit: Any, s3: Any) -> Kit:
    return Kit(meet_app, livekit, s3)
