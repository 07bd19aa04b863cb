"""Fixtures of the telephony plugin's tests.

The app fixtures (``meet_app``, ``livekit``, ``meet_env``...) come from
``meet_core.testing.pytest_plugin``, a pytest11 entry point of the installed core.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from livekit.api import LiveKitAPI
from livekit.protocol.sip import ListSIPDispatchRuleRequest, SIPDispatchRuleInfo
from sqlalchemy import insert, select

from meet_core.api import Room
from meet_core.testing.factories import session_maker
from meet_core.testing.harness import MeetTestApp
from meet_core.testing.webhooks import sign_webhook, webhook_body
from meet_telephony import TelephonyPlugin
from meet_telephony.models import RoomPin

API = "/api/v1.0"
WEBHOOK = f"{API}/rooms/webhooks-livekit/"
_event_ids = itertools.count()


@dataclass
class Kit:
    """What the telephony tests share: app factory, webhook sender, LiveKit and database views."""

    meet_app: Any
    livekit: Any
    lkapi: LiveKitAPI

    async def app(self, **env: str) -> MeetTestApp:
        """An app with the telephony plugin enabled (``env`` over the test environment)."""
        meet: MeetTestApp = await self.meet_app(env=env, plugins=[TelephonyPlugin])
        return meet

    async def rules_of(self, room_id: Any) -> list[SIPDispatchRuleInfo]:
        return [rule for rule in await self.all_rules() if rule.name == f"SIP_{room_id}"]

    async def all_rules(self) -> list[SIPDispatchRuleInfo]:
        return list((await self.lkapi.sip.list_dispatch_rule(ListSIPDispatchRuleRequest())).items)

    @staticmethod
    async def event(meet: MeetTestApp, event: str, room_name: str) -> Any:
        """A signed LiveKit webhook of ``event`` for ``room_name`` (a new event id each time)."""
        core = meet.app.state.settings.core
        event_id = f"EV_{next(_event_ids)}_{uuid.uuid4().hex[:6]}"
        body = webhook_body(event, id=event_id, room={"name": room_name})
        return await meet.client.post(
            WEBHOOK,
            content=body,
            headers={
                "content-type": "application/webhook+json",
                "authorization": sign_webhook(body, core.livekit_api_key, core.livekit_api_secret),
            },
        )

    @staticmethod
    async def create_room(meet: MeetTestApp, name: str | None = None, **body: Any) -> dict[str, Any]:
        """POST /rooms/ as a freshly logged-in user; the 201 body."""
        user = await meet.create_user()
        client = meet.new_client()
        async with client:
            await meet.login(user, client)
            name = name or f"r-{uuid.uuid4().hex[:8]}"
            response = await client.post(f"{API}/rooms/", json={"name": name, **body})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    @staticmethod
    async def pins(meet: MeetTestApp) -> dict[str, str]:
        """Room id -> PIN, as stored in the plugin's table."""
        async with session_maker(meet.app)() as session:
            rows = (await session.execute(select(RoomPin.room_id, RoomPin.pin))).all()
        return {str(room_id): pin for room_id, pin in rows}

    @staticmethod
    async def take_pins(meet: MeetTestApp, pins: list[str]) -> None:
        """Give each of ``pins`` to a new room, in bulk (to fill the PIN space of short PINs)."""
        rooms = [{"id": uuid.uuid4(), "name": f"filler {pin}", "slug": f"filler-{pin}",
                  "access_level": "public", "configuration": {}} for pin in pins]  # fmt: skip
        async with session_maker(meet.app)() as session:
            await session.execute(insert(Room), rooms)
            pin_rows = [{"room_id": r["id"], "pin": pin} for r, pin in zip(rooms, pins, strict=True)]
            await session.execute(insert(RoomPin), pin_rows)
            await session.commit()


@pytest.fixture
async def kit(meet_app: Any, livekit: Any) -> AsyncIterator[Kit]:
    """The helpers, with a real LiveKit API client on the fake server (an operator's view)."""
    client = LiveKitAPI(url=livekit.url, api_key=livekit.api_key, api_secret=livekit.api_secret)
    try:
        yield Kit(meet_app, livekit, client)
    finally:
        await client.aclose()
