"""``meet users``: create, list, deactivate and reactivate users, for operators.

Works on the configured database (``DATABASE_URL`` or the ``DB_*`` variables) once
``meet db upgrade`` has created the tables. A user created here has no ``sub`` unless one is
given: the first OIDC login with the same email fills it in when
``OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION`` is on. Deactivated users cannot log in, and
their open sessions stop working at the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy import false, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from meet_core.generations import bump_committed
from meet_core.pipelined_valkey import PipelinedValkey
from meet_core.settings import CoreSettings, load_section, read_environment
from meet_core.users.models import User
from meet_core.users.schemas import timezones
from meet_core.users.service import SUB_PATTERN

T = TypeVar("T")


def _core_settings() -> CoreSettings:
    errors: list[str] = []
    core = load_section(CoreSettings, read_environment(), errors)
    if core is None or errors:
        raise click.ClickException("Invalid settings:\n" + "\n".join(f"  - {e}" for e in errors))
    return core


async def _bump_stamps(session: AsyncSession, core: CoreSettings) -> None:
    """Tell the servers' caches what the commit changed (``meet_core.generations``).

    Without ``REDIS_URL`` (a server's private Valkey) or if Valkey fails, the servers see
    the change within ``LOGGED_IN_CACHE_TTL`` seconds.
    """
    if not core.redis_url:
        return
    valkey = PipelinedValkey(core.redis_url)
    try:
        await bump_committed(session, valkey)
    except Exception as exc:  # committed already: the TTL bounds what servers still show
        click.echo(f"warning: servers' caches not told ({exc!r}): shown within LOGGED_IN_CACHE_TTL", err=True)
    finally:
        await valkey.aclose()


def _run(work: Callable[[AsyncSession, CoreSettings], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction on the configured database (committed when it returns)."""
    from meet_core.db.config import database_config

    core = _core_settings()

    async def main() -> T:
        engine = database_config(core).get_engine()
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                result = await work(session, core)
                await session.commit()
                await _bump_stamps(session, core)
                return result
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"database error ({type(exc).__name__}); is the schema there? run `meet db upgrade`"
            ) from exc
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def _find(session: AsyncSession, identifier: str) -> User:
    """The one user whose id, sub or email (case-insensitive) is ``identifier``."""
    conditions: list[Any] = [User.sub == identifier, func.lower(User.email) == identifier.strip().lower()]
    with contextlib.suppress(ValueError):
        conditions.append(User.id == uuid.UUID(identifier))
    users = (await session.execute(select(User).where(or_(*conditions)).limit(2))).scalars().all()
    if not users:
        raise click.ClickException(f"no user matches {identifier!r}")
    if len(users) > 1:
        raise click.ClickException(f"several users match {identifier!r}: give the id instead")
    return users[0]


def _line(user: User) -> str:
    state = "active" if user.is_active else "inactive"
    created = user.created_at.strftime("%Y-%m-%d %H:%M") if user.created_at else "-"
    return "\t".join(
        [str(user.id), user.sub or "-", user.email or "-", user.full_name or "-", state, created]
    )


@click.group("users")
def users_group() -> None:
    """Manage users (people log in through OIDC; these commands are for operators)."""


@users_group.command("create")
@click.option("--email", required=True, help="Email address (matched at first login with email fallback).")
@click.option("--sub", default=None, help="The OIDC subject, when known.")
@click.option("--full-name", default=None)
@click.option("--short-name", default=None)
@click.option("--language", default=None, help="One of LANGUAGES (default: LANGUAGE_CODE).")
@click.option("--timezone", "tz", default=None, help="An IANA time zone (default: TIME_ZONE).")
def create_user(
    email: str,
    sub: str | None,
    full_name: str | None,
    short_name: str | None,
    language: str | None,
    tz: str | None,
) -> None:
    """Create a user and print its id."""
    email = email.strip()
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="--email")
    if sub is not None and not SUB_PATTERN.match(sub):
        raise click.BadParameter("letters, digits and . @ + - _ only", param_hint="--sub")
    if tz is not None and tz not in timezones():
        raise click.BadParameter(f"unknown time zone {tz!r}", param_hint="--timezone")

    async def work(session: AsyncSession, core: CoreSettings) -> User:
        if language is not None and language not in core.languages:
            raise click.BadParameter(f"not one of {', '.join(core.languages)}", param_hint="--language")
        clash = select(User.id).where(
            or_(func.lower(User.email) == email.lower(), User.sub == sub if sub else false())
        )
        if (await session.execute(clash.limit(1))).first() is not None:
            raise click.ClickException("a user with this email or sub already exists")
        user = User(
            sub=sub,
            email=email,
            full_name=full_name,
            short_name=short_name,
            language=language or core.language_code,
            timezone=tz or core.time_zone,
        )
        session.add(user)
        await session.flush()
        return user

    user = _run(work)
    click.echo(str(user.id))


@users_group.command("list")
@click.option("--email", "email_part", default=None, help="Only emails containing this text.")
@click.option("--inactive", is_flag=True, help="Only deactivated users.")
def list_users(email_part: str | None, inactive: bool) -> None:
    """List users, newest first: id, sub, email, full name, state, creation date (tab-separated)."""

    async def work(session: AsyncSession, core: CoreSettings) -> list[User]:
        query = select(User).order_by(User.created_at.desc())
        if email_part:
            query = query.where(func.lower(User.email).contains(email_part.lower(), autoescape=True))
        if inactive:
            query = query.where(User.is_active.is_(False))
        return list((await session.execute(query)).scalars())

    for user in _run(work):
        click.echo(_line(user))


def _set_active(identifier: str, active: bool) -> None:
    async def work(session: AsyncSession, core: CoreSettings) -> User:
        user = await _find(session, identifier)
        user.is_active = active
        return user

    user = _run(work)
    click.echo(f"{user.id} {'reactivated' if active else 'deactivated'}")


@users_group.command("deactivate")
@click.argument("identifier")
def deactivate_user(identifier: str) -> None:
    """Refuse logins and end the sessions of a user (by id, sub or email)."""
    _set_active(identifier, False)


@users_group.command("activate")
@click.argument("identifier")
def activate_user(identifier: str) -> None:
    """Let a deactivated user log in again (by id, sub or email)."""
    _set_active(identifier, True)
