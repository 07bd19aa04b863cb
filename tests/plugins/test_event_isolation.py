"""Event hooks and the database (docs/hooks.md, "Event hooks and the database").

A failing event hook (it raises, or its flush fails) is rolled back alone and logged; the
request's session stays usable, so the request answers as without the plugin. Room events run
in a SAVEPOINT of the request's transaction; the participant and webhook events in a
transaction of their own. Runs on SQLite and on PostgreSQL (``MEET_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.db.savepoint import savepoint
from meet_core.plugins import hookimpl
from meet_core.rooms.models import ResourceAccess, Room
from meet_core.testing.example_plugin import ExamplePlugin, FailingPlugin, note_model
from meet_core.testing.factories import session_maker
from meet_core.testing.webhooks import sign_webhook, webhook_body

API = "/api/v1.0"


class _Recorded(logging.Handler):
    """The plugin failures logged (Litestar's logging config replaces the root's handlers, so
    pytest's ``caplog`` sees nothing: listen on the facade's logger itself)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def plugin_failures() -> Iterator[list[str]]:
    handler = _Recorded()
    logger = logging.getLogger("meet_core.plugins")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


async def _notes(meet: Any) -> list[str]:
    model = note_model()
    async with session_maker(meet.app)() as session:
        return sorted((await session.scalars(select(model.text))).all())  # type: ignore[attr-defined]


class RaisingAfterWriting:
    """Writes a note in the request's transaction, then raises: the note must not survive."""

    name = "raising"

    @hookimpl
    async def meet_room_created(self, db_session: AsyncSession, room: Room) -> None:
        db_session.add(note_model()(text=f"raising {room.slug}"))
        await db_session.flush()
        raise RuntimeError("raising plugin")


class SwallowingItsFlushError:
    """Catches its own failed flush and returns normally: the savepoint still rolls it back."""

    name = "swallowing"

    @hookimpl
    async def meet_room_created(self, db_session: AsyncSession, room: Room, user: Any) -> None:
        db_session.add(ResourceAccess(resource_id=room.id, user_id=user.id, role="member"))
        with contextlib.suppress(IntegrityError):
            await db_session.flush()


async def test_room_created_whose_flush_fails_leaves_the_room_created(meet_app, plugin_failures) -> None:
    meet = await meet_app(
        plugins=[FailingPlugin, RaisingAfterWriting, SwallowingItsFlushError, ExamplePlugin]
    )
    user = await meet.create_user()
    await meet.login(user)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Isolated Room"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert [access["role"] for access in body["accesses"]] == ["owner"]
    # The swallowing plugin handled its own error (its failed flush rolled its savepoint back).
    assert sorted(plugin_failures) == [
        f"plugin {name!r} failed in meet_room_created (its changes are rolled back)"
        for name in ("failing", "raising")
    ]
    # The room and its owner are saved; the succeeding plugin's note too, the raising one's not.
    again = await meet.client.get(f"{API}/rooms/{body['id']}/")
    assert again.status_code == 200 and again.json()["name"] == "Isolated Room"
    assert [access["role"] for access in again.json()["accesses"]] == ["owner"]
    assert await _notes(meet) == ["room isolated-room created"]


async def test_pending_rows_failing_at_the_savepoint_release_are_rolled_back_alone(meet_app) -> None:
    """An implementation that adds without flushing fails when its savepoint is released."""

    class FailingAfterTheHook:
        name = "late_failure"

        @hookimpl(trylast=True)
        async def meet_room_created(self, db_session: AsyncSession) -> None:
            db_session.add(Room(name="same slug", slug="doomed-room", access_level="public"))

    meet = await meet_app(plugins=[ExamplePlugin, FailingAfterTheHook])
    await meet.login(await meet.create_user())
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Doomed Room"})
    # FailingAfterTheHook's pending room duplicates the slug: its savepoint's release fails, it is
    # rolled back alone, and the request still succeeds with the example plugin's note.
    assert response.status_code == 201, response.text
    assert await _notes(meet) == ["room doomed-room created"]


async def test_room_updated_failing_hook_is_undone_and_the_update_kept(meet_app, plugin_failures) -> None:
    meet = await meet_app(plugins=[FailingPlugin, ExamplePlugin])
    user = await meet.create_user()
    room = await meet.create_room("before update", accesses=[(user, "owner")])
    await meet.login(user)
    response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"name": "after update"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "after update"  # not the failing plugin's change
    assert plugin_failures == ["plugin 'failing' failed in meet_room_updated (its changes are rolled back)"]
    again = (await meet.client.get(f"{API}/rooms/{room.id}/")).json()
    assert again["name"] == "after update"
    plugin = meet.app.state.hooks.pm.get_plugin("example")
    assert ("room_updated", ("after-update", ("name", "slug"))) in plugin.events


async def test_room_deleted_failing_hook_leaves_the_room_deleted(meet_app, plugin_failures) -> None:
    meet = await meet_app(plugins=[FailingPlugin, ExamplePlugin])
    user = await meet.create_user()
    room = await meet.create_room("to delete", accesses=[(user, "owner")])
    await meet.login(user)
    assert (await meet.client.delete(f"{API}/rooms/{room.id}/")).status_code == 204
    async with session_maker(meet.app)() as session:
        assert await session.get(Room, room.id) is None
    assert plugin_failures == ["plugin 'failing' failed in meet_room_deleted (its changes are rolled back)"]


async def test_livekit_event_runs_each_implementation_in_its_own_transaction(meet_app, livekit) -> None:
    meet = await meet_app(plugins=[FailingPlugin, ExamplePlugin])
    body = webhook_body("room_finished", id="EV_isolation", room={"name": "some-room"})
    response = await meet.client.post(
        f"{API}/rooms/webhooks-livekit/",
        content=body,
        headers={
            "Authorization": sign_webhook(body, livekit.api_key, livekit.api_secret),
            "Content-Type": "application/webhook+json",
        },
    )
    assert response.status_code == 200, response.text
    # The example plugin's note is committed; the failing plugin's is rolled back.
    assert await _notes(meet) == ["livekit room_finished some-room"]


async def test_participant_removed_commits_its_own_transaction(meet_app, livekit) -> None:
    class Remembering:
        name = "remembering"

        @hookimpl
        async def meet_participant_removed(self, db_session: AsyncSession, identity: str) -> None:
            db_session.add(note_model()(text=f"removed {identity}"))

    meet = await meet_app(plugins=[Remembering, ExamplePlugin])
    user = await meet.create_user()
    room = await meet.create_room("removal", accesses=[(user, "owner")])
    livekit.add_participant(str(room.id), "someone")
    await meet.login(user)
    response = await meet.client.post(
        f"{API}/rooms/{room.id}/remove-participant/", json={"participant_identity": "someone"}
    )
    assert response.status_code == 200, response.text
    assert await _notes(meet) == ["removed someone"]


async def test_savepoint_writes_go_with_the_outer_transaction(meet_app) -> None:
    """On SQLite a SAVEPOINT sent before any write would open (and on release commit) the
    transaction itself; ``savepoint`` sends BEGIN first, so the outer rollback takes it all."""
    meet = await meet_app(plugins=[ExamplePlugin])
    model = note_model()
    async with meet.app.state.db_config.get_session() as session:
        await session.execute(select(model.text))  # type: ignore[attr-defined]  # a read, no write yet
        async with savepoint(session):
            session.add(model(text="inside the savepoint"))
        await session.rollback()
    assert await _notes(meet) == []
