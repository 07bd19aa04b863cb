"""A statement that fails on SQLite leaves nothing that can stop the event loop later.

SQLAlchemy keeps the cursor of a failed statement alive in a reference cycle; had the garbage
collector reset it on the event loop's thread while the connection's own thread waited on the
write lock, the loop (and with it the request holding that lock) would stop until the busy
timeout, and the waiting statement would fail with "database is locked" (meet_core.db.sqlite_driver).
This happened to concurrent room creations whose telephony PINs collided. SQLite only: the
test runs on its own SQLite file whatever database the rest of the suite uses.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from meet_core.rooms.models import Room


@pytest.fixture
def collector_paused() -> Iterator[None]:
    """No automatic collection during the test: it collects once, at the moment it chooses."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_collecting_a_failed_statement_does_not_wait_for_a_busy_connection(
    meet_app, tmp_path, collector_paused
) -> None:
    meet = await meet_app(env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/meet.sqlite3"})
    taken = await meet.create_room("Taken", access_level="public")
    engine = meet.app.state.db_config.get_engine()

    async with engine.connect() as waiter, engine.connect() as holder:
        # The waiter's connection runs a statement that fails: a slug already taken.
        duplicate = {"id": uuid.uuid4(), "name": "Taken", "slug": taken.slug, "configuration": {}}
        with pytest.raises(IntegrityError):
            await waiter.execute(insert(Room).values(**duplicate))
        await waiter.rollback()

        # The holder takes the write lock; the waiter's next write waits on it, in its thread.
        await holder.execute(update(Room).where(Room.id == taken.id).values(name="Held"))
        waiting = asyncio.create_task(
            waiter.execute(update(Room).where(Room.id == taken.id).values(name="Waited"))
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()  # it does wait on the holder

        gc.collect()  # on the loop's thread, as an automatic collection would
        await holder.commit()  # the loop is free: the holder ends its transaction...
        await waiting  # ... and the waiter's statement goes through, not "database is locked"
        await waiter.commit()

    async with engine.connect() as connection:
        name = (await connection.execute(Room.__table__.select().where(Room.id == taken.id))).one().name
    assert name == "Waited"
