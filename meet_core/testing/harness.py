"""A running application for black-box HTTP tests: client, login, database factories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AsyncExitStack
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from meet_core.app import create_app
from meet_core.db import metadata
from meet_core.identity.sessions import SessionData, new_secret, store_session
from meet_core.rooms.models import Room
from meet_core.state import core_settings, valkey_client
from meet_core.testing import factories
from meet_core.users.models import User

BASE_URL = "http://testserver.local"


async def create_schema(app: Litestar) -> None:
    """Create the tables of every imported model (migrations are tested on their own)."""
    engine = app.state.db_config.get_engine()
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


class MeetTestApp:
    """An app built from ``env`` and ``plugins``, started, with its schema created.

    Use ``async with MeetTestApp(env, plugins) as meet:`` then ``meet.client`` (an httpx
    AsyncClient on the app), ``await meet.login(user)``, ``await meet.create_user()``...
    """

    def __init__(self, env: Mapping[str, str], plugins: Iterable[Any] = ()) -> None:
        self.app = create_app(env=env, plugins=list(plugins))
        self.client = AsyncTestClient(self.app, base_url=BASE_URL)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> MeetTestApp:
        await self._stack.enter_async_context(self.client)
        await create_schema(self.app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def login(self, user: User, client: httpx.AsyncClient | None = None) -> str:
        """Log ``user`` in on ``client`` (default: ``self.client``) as an OIDC login would.

        Sets the ``sessionid`` and ``csrftoken`` cookies and the ``X-CSRFToken`` header; returns
        the CSRF token.
        """
        client = client or self.client
        core = core_settings(self.app)
        data = SessionData(user_id=str(user.id), csrf=new_secret())
        session_id = await store_session(valkey_client(self.app), None, data, core.session_cookie_age)
        client.cookies.set(core.session_cookie_name, session_id, domain="testserver.local")
        client.cookies.set(core.csrf_cookie_name, data.csrf or "", domain="testserver.local")
        client.headers[core.csrf_header_name] = data.csrf or ""
        return data.csrf or ""

    def logout(self, client: httpx.AsyncClient | None = None) -> None:
        client = client or self.client
        client.cookies.clear()
        client.headers.pop(core_settings(self.app).csrf_header_name, None)

    def new_client(self) -> httpx.AsyncClient:
        """Another client (another browser) on the same running app; use it with ``async with``."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL)

    async def create_user(self, **fields: Any) -> User:
        return await factories.create_user(self.app, **fields)

    async def create_room(self, name: str | None = None, **fields: Any) -> Room:
        return await factories.create_room(self.app, name, **fields)
