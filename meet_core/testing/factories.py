"""Create rows directly in an application's database, for tests (users, rooms, accesses)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from meet_core.rooms.models import ResourceAccess, Room
from meet_core.users.models import User


def session_maker(app: Litestar) -> async_sessionmaker[AsyncSession]:
    """A sessionmaker bound to the application's engine (available once the app started)."""
    return async_sessionmaker(app.state.db_config.get_engine(), expire_on_commit=False)


async def create_user(app: Litestar, **fields: Any) -> User:
    token = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "sub": f"sub-{token}",
        "email": f"user-{token}@example.com",
        "full_name": f"User {token}",
        "short_name": "User",
    }
    values.update(fields)
    async with session_maker(app)() as session:
        user = User(**values)
        session.add(user)
        await session.commit()
        return user


async def create_room(
    app: Litestar,
    name: str | None = None,
    *,
    accesses: list[tuple[User, str]] | None = None,
    **fields: Any,
) -> Room:
    """A room (slug from the name, as the API would) with the given (user, role) accesses."""
    from meet_core.rooms.slugs import slugify

    name = name or f"room-{uuid.uuid4().hex[:8]}"
    values: dict[str, Any] = {
        "name": name,
        "slug": slugify(name),
        "access_level": "public",
        "configuration": {},
    }
    values.update(fields)
    async with session_maker(app)() as session:
        room = Room(**values)
        session.add(room)
        await session.flush()
        for user, role in accesses or []:
            session.add(ResourceAccess(resource_id=room.id, user_id=user.id, role=role))
        await session.commit()
        return room
