"""An example plugin implementing every hook: the test suite's probe and a template for authors.

Copy it to start a plugin: a class with ``@hookimpl`` methods, registered under the entry point
group ``meet.plugins``::

    [project.entry-points."meet.plugins"]
    example = "my_package.plugin:ExamplePlugin"

It imports from ``meet_core.api`` only, as every plugin should. It records what it sees in
``self.events`` so tests can assert that each hook ran.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import click
import msgspec
from litestar import Litestar, Request, get
from litestar.config.app import AppConfig
from litestar.di import NamedDependency
from litestar.plugins import InitPlugin
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from meet_core.api import JoinDecision, Settings, hookimpl, hooks


class ExampleSettings(msgspec.Struct, kw_only=True, rename="upper"):
    """Read from ``EXAMPLE_GREETING`` and ``EXAMPLE_PASS_HEADER``."""

    example_greeting: str = "hello"
    example_pass_header: str = "x-example-pass"


def _note_model() -> type:
    """The plugin's table, defined on first use so that merely importing this module adds none."""
    from meet_core.api import Base

    class ExampleNote(Base):
        __tablename__ = "example_note"
        text: Mapped[str] = mapped_column(String(200))

    return ExampleNote


def note_model() -> type:
    global _NOTE
    if _NOTE is None:
        _NOTE = _note_model()
    return _NOTE


_NOTE: type | None = None


class _AddHeaderRoute(InitPlugin):
    """A Litestar plugin given through ``meet_litestar_plugins``: it mounts one more route."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        @get("/api/v1.0/example/from-litestar-plugin")
        async def from_litestar_plugin() -> dict[str, bool]:
            return {"litestar_plugin": True}

        app_config.route_handlers.append(from_litestar_plugin)
        return app_config


class ExamplePlugin:
    """Implements every hook of ``meet_core.plugins.hookspecs``."""

    #: One name everywhere: its entry point's name, the key of its settings section.
    name = "example"
    #: Without ``MEET_PLUGINS``, it is on only when ``EXAMPLE_ENABLED`` is true.
    enabled_by = "EXAMPLE_ENABLED"

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.settings: ExampleSettings | None = None

    # ---------------------------------------------------------------- app building

    @hookimpl
    def meet_add_hookspecs(self, pluginmanager: Any) -> None:
        from meet_core.testing import example_hookspecs

        pluginmanager.add_hookspecs(example_hookspecs)

    @hookimpl
    def meet_settings_class(self) -> type[msgspec.Struct]:
        return ExampleSettings

    @hookimpl
    def meet_configure(self, settings: Settings) -> None:
        self.settings = settings.section(self.name, ExampleSettings)

    @hookimpl
    def meet_route_handlers(self, settings: Settings) -> list[Any]:
        plugin = self

        @get("/api/v1.0/example/greeting")
        async def greeting(request: Request[Any, Any, Any]) -> dict[str, Any]:
            assert plugin.settings is not None
            greeting = plugin.settings.example_greeting
            # A hook of its own (example_hookspecs), called with the core's semantics.
            chosen = await hooks(request).call_first("meet_example_greeting", greeting=greeting)
            return {
                "greeting": chosen or greeting,
                "started": request.app.state.get("example_started"),
            }

        @get("/api/v1.0/example/notes")
        async def notes(db_session: NamedDependency[AsyncSession]) -> list[str]:
            model = note_model()
            db_session.add(model(text=f"note-{uuid.uuid4().hex[:6]}"))
            await db_session.flush()
            return list((await db_session.scalars(select(model.text))).all())  # type: ignore[attr-defined]

        return [greeting, notes]

    @hookimpl
    def meet_litestar_plugins(self, settings: Settings) -> list[Any]:
        return [_AddHeaderRoute()]

    @hookimpl
    def meet_model_modules(self) -> list[str]:
        note_model()
        return [__name__]

    @hookimpl
    def meet_migration_locations(self) -> list[str]:
        return [str(Path(__file__).parent / "example_migrations")]

    @hookimpl
    def meet_cli_commands(self) -> list[click.Command]:
        @click.command("example-hello")
        def hello() -> None:
            """Say hello (an example plugin command)."""
            click.echo("hello from the example plugin")

        return [hello]

    @hookimpl
    def meet_lifespan(self, app: Litestar) -> Any:
        plugin = self

        @asynccontextmanager
        async def lifespan() -> AsyncIterator[None]:
            app.state.example_started = True
            plugin.events.append(("startup", None))
            yield
            plugin.events.append(("shutdown", None))

        return lifespan()

    # ---------------------------------------------------------------------- runtime

    @hookimpl
    async def meet_frontend_config(self, settings: Settings) -> dict[str, Any]:
        return {"example": {"enabled": True}, "subtitle": {"enabled": True}}

    @hookimpl
    async def meet_room_join_decision(
        self, request: Request[Any, Any, Any], room: Any, user: Any, role: str | None
    ) -> JoinDecision | None:
        assert self.settings is not None
        if request.headers.get(self.settings.example_pass_header) == "yes":
            return JoinDecision(participant_id="example-participant", color="hsl(1, 2%, 3%)")
        return None

    @hookimpl
    async def meet_room_extra_fields(
        self, request: Request[Any, Any, Any], room: Any, user: Any, role: str | None
    ) -> dict[str, Any]:
        return {"example_field": f"extra-{room.slug}"}

    @hookimpl
    def meet_token_attributes(self, room_name: str, identity: str) -> dict[str, str]:
        return {"example": "yes"}

    @hookimpl
    def meet_token_grants(self, grants: Any) -> None:
        grants.can_publish_data = False

    @hookimpl
    async def meet_room_created(self, db_session: AsyncSession, room: Any, user: Any) -> None:
        """Writes in the request's transaction (a savepoint of it): the note and the room go together."""
        self.events.append(("room_created", room.slug))
        db_session.add(note_model()(text=f"room {room.slug} created"))
        await db_session.flush()

    @hookimpl
    async def meet_room_updated(self, room: Any, changed: frozenset[str]) -> None:
        self.events.append(("room_updated", (room.slug, tuple(sorted(changed)))))

    @hookimpl
    def meet_room_deleted(self, room: Any) -> None:
        self.events.append(("room_deleted", room.slug))

    @hookimpl
    async def meet_participant_removed(self, room: Any, identity: str) -> None:
        self.events.append(("participant_removed", (str(room.id), identity)))

    @hookimpl
    async def meet_livekit_event(self, db_session: AsyncSession, event: Any) -> None:
        """Writes in a transaction of its own, committed when this returns."""
        self.events.append(("livekit_event", (event.event, event.room.name)))
        db_session.add(note_model()(text=f"livekit {event.event} {event.room.name}"))


class FailingPlugin:
    """Fails in every event hook: proves that one plugin's failure does not stop the others,
    nor the request, nor leave the request's session unusable."""

    name = "failing"

    @hookimpl
    async def meet_room_created(self, db_session: AsyncSession, room: Any, user: Any) -> None:
        """A flush that fails: the owner's access to the room already exists (unique constraint)."""
        from meet_core.api import ResourceAccess

        db_session.add(ResourceAccess(resource_id=room.id, user_id=user.id, role="member"))
        await db_session.flush()

    @hookimpl
    async def meet_room_updated(self, db_session: AsyncSession, room: Any) -> None:
        """Changes the room, then raises: the change must be rolled back with the savepoint."""
        room.name = "changed by a failing plugin"
        await db_session.flush()
        raise RuntimeError("failing plugin")

    @hookimpl
    def meet_room_deleted(self) -> None:
        raise RuntimeError("failing plugin")

    @hookimpl
    async def meet_livekit_event(self, db_session: AsyncSession, event: Any) -> None:
        """Writes in its own transaction, then raises: the write must be rolled back."""
        db_session.add(note_model()(text=f"failing {event.event}"))
        await db_session.flush()
        raise RuntimeError("failing plugin")

    @hookimpl
    async def meet_room_join_decision(self) -> None:
        return None
