"""A running application for black-box HTTP tests: client, login, database factories."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

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


@asynccontextmanager
async def _running(app: Litestar) -> AsyncIterator[None]:
    """Run the app's lifespan in a task of its own: anyio's cancel scopes must be entered and
    exited by the same task, and pytest-asyncio sets fixtures up and tears them down in two."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error
    try:
        yield
    finally:
        stop.set()
        await task


class MeetTestApp:
    """An app built from ``env`` and ``plugins``, started, with its schema created.

    Use ``async with MeetTestApp(env, plugins) as meet:`` then ``meet.client`` (an httpx
    AsyncClient on the app), ``await meet.login(user)``, ``await meet.create_user()``...
    """

    def __init__(self, env: Mapping[str, str], plugins: Iterable[Any] | None = ()) -> None:
        # plugins=None: the installed entry points, filtered by the settings, as in production.
        self.app = create_app(env=env, plugins=None if plugins is None else list(plugins))
        self.client = self.new_client()
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> MeetTestApp:
        # The app runs in the test's own event loop (unlike litestar's AsyncTestClient, which
        # serves from a portal thread): its engine, Valkey and LiveKit clients are loop-bound
        # and the test uses them too (factories, login).
        await self._stack.enter_async_context(_running(self.app))
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
        session_id, csrf = await self.new_session(user)
        client.cookies.set(core.session_cookie_name, session_id, domain="testserver.local")
        client.cookies.set(core.csrf_cookie_name, csrf, domain="testserver.local")
        client.headers[core.csrf_header_name] = csrf
        return csrf

    async def new_session(self, user: User) -> tuple[str, str]:
        """A session of ``user`` stored in Valkey, as an OIDC login stores it: its id (the
        ``sessionid`` cookie) and its CSRF token. For clients of other servers sharing this
        app's Valkey (``login`` sets both on a client of this app)."""
        data = SessionData(user_id=str(user.id), csrf=new_secret())
        age = core_settings(self.app).session_cookie_age
        return await store_session(valkey_client(self.app), None, data, age), data.csrf or ""

    def logout(self, client: httpx.AsyncClient | None = None) -> None:
        client = client or self.client
        client.cookies.clear()
        client.headers.pop(core_settings(self.app).csrf_header_name, None)

    def new_client(self, peer: str = "127.0.0.1") -> httpx.AsyncClient:
        """Another client (another browser) on the same running app; use it with ``async with``.

        Redirects are not followed, so tests see the 302s of the login flow. ``peer`` is the
        socket address the app sees (a client connecting directly, or a reverse proxy).
        """
        transport = httpx.ASGITransport(app=self.app, client=(peer, 123))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL)

    async def create_user(self, **fields: Any) -> User:
        return await factories.create_user(self.app, **fields)

    async def create_room(self, name: str | None = None, **fields: Any) -> Room:
        return await factories.create_room(self.app, name, **fields)
