"""request-entry's per-address ceiling (issue #19, item 3): a new lobby cookie per request gets
a new participant, not a new budget; behind a trusted proxy each client has its own ceiling."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

RATES = {"REQUEST_ENTRY_THROTTLE_RATES": "100/minute", "REQUEST_ENTRY_ADDRESS_THROTTLE_RATES": "4/minute"}


async def _with_new_cookie(lobby: Any, client: httpx.AsyncClient, room: Any, **kwargs: Any) -> int:
    client.cookies.set("lobbyParticipantId", str(uuid.uuid4()), domain="testserver.local")
    return (await lobby.request_entry(client, room, **kwargs)).status_code


async def test_rotating_lobby_cookies_hits_the_per_address_ceiling(lobby_app, lobby) -> None:
    meet = await lobby_app(env=RATES)
    waiting_room = await meet.create_room(access_level="restricted")
    public_room = await meet.create_room(access_level="public")
    async with meet.new_client("198.51.100.7") as rotating, meet.new_client("198.51.100.8") as other:
        # Queued (the poll's script) and joined directly (the core's throttle) count alike.
        statuses = [await _with_new_cookie(lobby, rotating, waiting_room) for _ in range(3)]
        statuses.append(await _with_new_cookie(lobby, rotating, public_room))
        statuses.append(await _with_new_cookie(lobby, rotating, waiting_room))
        statuses.append(await _with_new_cookie(lobby, rotating, public_room))
        assert statuses == [200, 200, 200, 200, 429, 429]
        response = await lobby.request_entry(rotating, waiting_room)
        assert response.status_code == 429 and int(response.headers["retry-after"]) in range(55, 61)
        # Rotating X-Forwarded-For from an untrusted peer changes nothing.
        headers = {"X-Forwarded-For": "203.0.113.50"}
        assert await _with_new_cookie(lobby, rotating, waiting_room, headers=headers) == 429
        assert await _with_new_cookie(lobby, other, waiting_room) == 200  # another address


async def test_behind_a_trusted_proxy_the_ceiling_is_per_forwarded_client(lobby_app, lobby) -> None:
    meet = await lobby_app(env={**RATES, "TRUSTED_PROXIES": "10.0.0.0/8"})
    room = await meet.create_room(access_level="trusted")
    async with meet.new_client("10.0.0.2") as proxy:
        first = {"X-Forwarded-For": "203.0.113.1"}
        assert [await _with_new_cookie(lobby, proxy, room, headers=first) for _ in range(5)] == [200] * 4 + [
            429
        ]
        second = {"X-Forwarded-For": "203.0.113.2"}
        assert await _with_new_cookie(lobby, proxy, room, headers=second) == 200


async def test_logged_in_users_are_counted_per_user_only(lobby_app, lobby) -> None:
    meet = await lobby_app(env=RATES)
    room = await meet.create_room(access_level="trusted")
    await meet.login(await meet.create_user())
    assert [await _with_new_cookie(lobby, meet.client, room) for _ in range(6)] == [200] * 6
