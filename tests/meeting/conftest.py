"""Fixtures of the in-meeting control tests: a real SMTP server on loopback, a room with its
owner, administrator and member, and LiveKit tokens."""

from __future__ import annotations

import datetime
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from livekit import api

from meet_core.rooms.models import Room
from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.harness import MeetTestApp
from meet_core.users.models import User


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """An aiosmtpd server on loopback recording every message (``.received``)."""

    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def env(self) -> dict[str, str]:
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port)}


@pytest.fixture
def unused_port() -> int:
    """A loopback port nobody listens on."""
    return free_port()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


def livekit_token(
    livekit: FakeLiveKit,
    room: str,
    identity: str,
    *,
    secret: str | None = None,
    ttl: datetime.timedelta = datetime.timedelta(hours=1),
) -> str:
    """A participant's LiveKit token for ``room``, signed like the server signs them."""
    grants = api.VideoGrants(room=room, room_join=True)
    token = api.AccessToken(livekit.api_key, secret or livekit.api_secret)
    return token.with_identity(identity).with_ttl(ttl).with_grants(grants).to_jwt()


@dataclass
class Meeting:
    meet: MeetTestApp
    livekit: FakeLiveKit
    room: Room
    owner: User
    admin: User
    member: User

    @property
    def name(self) -> str:
        """The room's LiveKit name."""
        return str(self.room.id)

    def bearer(self, identity: str = "guest-1", room: str | None = None, **kwargs: Any) -> dict[str, str]:
        token = livekit_token(self.livekit, room or self.name, identity, **kwargs)
        return {"Authorization": f"Bearer {token}"}

    async def client_as(self, who: str) -> httpx.AsyncClient:
        """A new client (close it) logged in as ``owner``/``admin``/``member``, or anonymous."""
        client = self.meet.new_client()
        user = {"owner": self.owner, "admin": self.admin, "member": self.member}.get(who)
        if user is not None:
            await self.meet.login(user, client)
        return client


async def make_meeting(meet: MeetTestApp, livekit: FakeLiveKit, **room_fields: Any) -> Meeting:
    owner = await meet.create_user(email="owner@example.com")
    admin = await meet.create_user(email="admin@example.com")
    member = await meet.create_user(email="member@example.com")
    room = await meet.create_room(
        "Daily Standup",
        accesses=[(owner, "owner"), (admin, "administrator"), (member, "member")],
        **room_fields,
    )
    return Meeting(meet, livekit, room, owner, admin, member)


MakeMeeting = Callable[..., Awaitable[Meeting]]


@pytest.fixture
def make_meeting_app(meet_app: Any, livekit: FakeLiveKit) -> MakeMeeting:
    """Factory: ``await make_meeting_app(env={...}, plugins=[...], configuration={...})``."""

    async def factory(env: dict[str, str] | None = None, plugins: Any = (), **room_fields: Any) -> Meeting:
        meet = await meet_app(env=env, plugins=plugins)
        return await make_meeting(meet, livekit, **room_fields)

    return factory


@pytest.fixture
async def meeting(make_meeting_app: MakeMeeting) -> Meeting:
    return await make_meeting_app()
