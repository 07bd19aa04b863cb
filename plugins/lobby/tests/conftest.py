"""Fixtures of the lobby tests: an app with the lobby plugin and small HTTP helpers."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from meet_lobby import LobbyPlugin

API = "/api/v1.0"


@pytest.fixture
def lobby_app(meet_app: Any) -> Any:
    """Factory: ``meet = await lobby_app(env={...})``, an app with the lobby plugin enabled."""

    async def factory(env: dict[str, str] | None = None) -> Any:
        return await meet_app(env=env, plugins=[LobbyPlugin])

    return factory


class Lobby:
    """Calls of the lobby endpoints, on any client."""

    @staticmethod
    async def request_entry(client: Any, room: Any, username: Any = "Alice", **kwargs: Any) -> Any:
        key = room if isinstance(room, str) else str(room.id)
        return await client.post(f"{API}/rooms/{key}/request-entry/", json={"username": username}, **kwargs)

    @staticmethod
    async def enter(client: Any, room: Any, participant_id: str, allow: bool = True) -> Any:
        key = room if isinstance(room, str) else str(room.id)
        return await client.post(
            f"{API}/rooms/{key}/enter/", json={"participant_id": participant_id, "allow_entry": allow}
        )

    @staticmethod
    async def waiting(client: Any, room: Any) -> Any:
        key = room if isinstance(room, str) else str(room.id)
        return await client.get(f"{API}/rooms/{key}/waiting-participants/")

    @staticmethod
    def claims(token: str) -> dict[str, Any]:
        return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def lobby() -> type[Lobby]:
    return Lobby
