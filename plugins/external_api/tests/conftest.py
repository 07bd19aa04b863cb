"""Fixtures of the external-API plugin's tests: ``kit`` carries every helper and constant.

(Tests import nothing from here: with ``--import-mode=importlib`` a conftest is no module to
import.) The app fixtures (``meet_app``, ``livekit``, ``meet_env``, ``meet_cli``...) come
from ``meet_core.testing.pytest_plugin``, a pytest11 entry point of the installed core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from meet_core.api import User
from meet_core.testing.factories import session_maker
from meet_core.testing.harness import MeetTestApp
from meet_external_api import ExternalApiPlugin
from meet_external_api.applications import create_application, draw
from meet_external_api.models import Application

TOKEN_URL = "/external-api/v1.0/application/token/"
ROOMS_URL = "/external-api/v1.0/rooms/"
APP_KEY = "application-signing-key-of-the-tests-0123456789"
ADDONS_KEY = "addons-signing-key-of-the-tests-0123456789abcdef"
CSRF_SECRET = "addons-csrf-secret-of-the-tests-0123456789"
ENV = {
    "APPLICATION_ENABLED": "true",
    "APPLICATION_JWT_SECRET_KEY": APP_KEY,
    "ADDONS_ENABLED": "true",
    "ADDONS_TOKEN_SECRET_KEY": ADDONS_KEY,
    "ADDONS_CSRF_SECRET": CSRF_SECRET,
}
ALL_SCOPES = ["rooms:create", "rooms:list", "rooms:retrieve"]


@dataclass
class Registered:
    """An application as its operator knows it: the row and the plaintext secret."""

    application: Application
    secret: str

    @property
    def client_id(self) -> str:
        return self.application.client_id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str, key: str = APP_KEY, audience: str = "meet-external-api") -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, key, algorithms=["HS256"], audience=audience)
    return decoded


@dataclass
class Kit:
    """The app factory and the helpers the external-API tests share."""

    meet_app: Any

    ENV = ENV
    TOKEN_URL = TOKEN_URL
    ROOMS_URL = ROOMS_URL
    APP_KEY = APP_KEY
    ADDONS_KEY = ADDONS_KEY
    CSRF_SECRET = CSRF_SECRET
    ALL_SCOPES = ALL_SCOPES
    bearer = staticmethod(bearer)
    claims_of = staticmethod(claims_of)

    async def app(self, **env: str) -> MeetTestApp:
        """An app with the plugin enabled, applications and add-ons on (``env`` over them)."""
        meet: MeetTestApp = await self.meet_app(env={**ENV, **env}, plugins=[ExternalApiPlugin])
        return meet

    @staticmethod
    async def register(
        meet: MeetTestApp,
        *,
        scopes: list[str] | None = None,
        domains: list[str] | None = None,
        active: bool = True,
    ) -> Registered:
        """An application written as ``meet applications create`` does."""
        secret = draw(64)
        async with session_maker(meet.app)() as session:
            application = await create_application(
                session,
                "Calendar",
                scopes=ALL_SCOPES if scopes is None else scopes,
                domains=domains or [],
                active=active,
                client_id_length=40,
                secret=secret,
            )
            await session.commit()
        return Registered(application, secret)

    @staticmethod
    async def request_token(
        meet: MeetTestApp, registered: Registered, email: str, *, form: bool = False, **override: str
    ) -> httpx.Response:
        body = {
            "client_id": registered.client_id,
            "client_secret": registered.secret,
            "grant_type": "client_credentials",
            "scope": email,
            **override,
        }
        if form:
            return await meet.client.post(TOKEN_URL, data=body)
        return await meet.client.post(TOKEN_URL, json=body)

    async def token_for(self, meet: MeetTestApp, registered: Registered, user: User) -> str:
        response = await self.request_token(meet, registered, user.email or "")
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    @staticmethod
    async def set_active(meet: MeetTestApp, model: Any, row_id: Any, active: bool) -> None:
        async with session_maker(meet.app)() as session:
            row = await session.get(model, row_id)
            row.is_active = active
            await session.commit()


@pytest.fixture
def kit(meet_app: Any) -> Kit:
    return Kit(meet_app)
