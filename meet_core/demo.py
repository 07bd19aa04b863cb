"""``meet demo``: seed a local setup (a user and a room) so a newcomer can try the API at once."""

from __future__ import annotations

import asyncio

import click


@click.command()
@click.option("--email", default="demo@example.com", show_default=True)
@click.option("--room", "room_name", default="demo-room", show_default=True)
def demo(email: str, room_name: str) -> None:
    """Create (once) a demo user and a public room they own, and print how to reach them."""
    from meet_core.app import load_settings
    from meet_core.db.migrate import upgrade

    settings, hooks = load_settings()
    upgrade(settings, hooks)
    room_slug = asyncio.run(_seed(settings.core.build_database_url(), email, room_name))
    click.echo(f"demo user {email} owns the room '{room_slug}'")
    click.echo(f"try: curl http://127.0.0.1:8071/api/v1.0/rooms/{room_slug}/")


async def _seed(url: str, email: str, room_name: str) -> str:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from meet_core.rooms.models import ResourceAccess, Role, Room
    from meet_core.rooms.slugs import slugify
    from meet_core.users.models import User

    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            user = await session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(
                    sub=f"demo-{slugify(email)}", email=email, full_name="Demo User", short_name="Demo"
                )
                session.add(user)
            slug = slugify(room_name)
            room = await session.scalar(select(Room).where(Room.slug == slug))
            if room is None:
                room = Room(name=room_name, slug=slug, access_level="public", configuration={})
                session.add(room)
                await session.flush()
                session.add(ResourceAccess(resource_id=room.id, user_id=user.id, role=Role.OWNER.value))
            await session.commit()
            return slug
    finally:
        await engine.dispose()
