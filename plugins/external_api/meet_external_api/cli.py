"""``meet applications ...``: the operators' tool for applications (the old system had the admin).

``create`` prints the client secret once (scripts use ``--json``: the last line is
``{"client_id": "...", "client_secret": "..."}``); only its argon2 hash is stored.
``rotate-secret`` draws a new one the same way. ``ID`` is the application's id or client id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import Settings, database_sessions
from meet_external_api.applications import (
    InvalidApplication,
    all_applications,
    create_application,
    domains_of,
    draw,
    find_application,
    hash_secret,
)
from meet_external_api.models import Application
from meet_external_api.settings import PLUGIN_NAME, SCOPES, ExternalApiSettings

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work`` in one committed transaction; database and validation errors as click errors."""

    async def go() -> T:
        async with database_sessions(settings) as sessions, sessions() as session:
            result = await work(session)
            await session.commit()
            return result

    try:
        return asyncio.run(go())
    except InvalidApplication as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database error ({type(exc).__name__}); is the schema there? run `meet db upgrade`"
        ) from exc


async def _get(session: AsyncSession, key: str) -> Application:
    application = await find_application(session, key)
    if application is None:
        raise InvalidApplication(f"no application {key!r} (give its id or its client id)")
    return application


def _print_secret(client_id: str, secret: str, as_json: bool) -> None:
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")
    click.echo("The secret is shown only now: store it in the application's configuration.")
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))


def applications_group(settings: Settings) -> click.Group:
    """``meet applications ...``, on the settings of the running command line."""
    config = settings.section(PLUGIN_NAME, ExternalApiSettings)

    @click.group("applications")
    def group() -> None:
        """External API: applications that create meetings for their users."""

    @group.command("create")
    @click.argument("name")
    @click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES), help="A scope (repeatable).")
    @click.option(
        "--domain", "domains", multiple=True, help="An allowed e-mail domain (repeatable; none: any)."
    )
    @click.option("--inactive", is_flag=True, help="Create it deactivated.")
    @click.option("--client-secret", "secret", default=None, help="Use this secret instead of drawing one.")
    @click.option("--json", "as_json", is_flag=True, help="End with a JSON line of the credentials.")
    def create(
        name: str,
        scopes: tuple[str, ...],
        domains: tuple[str, ...],
        inactive: bool,
        secret: str | None,
        as_json: bool,
    ) -> None:
        """Create application NAME and print its credentials (the secret only this once)."""
        plaintext = secret if secret is not None else draw(config.application_client_secret_length)
        if not plaintext:
            raise click.ClickException("the client secret may not be empty")

        async def work(session: AsyncSession) -> str:
            application = await create_application(
                session,
                name,
                scopes=scopes,
                domains=domains,
                active=not inactive,
                client_id_length=config.application_client_id_length,
                secret=plaintext,
            )
            click.echo(f"application {application.id} created ({'inactive' if inactive else 'active'})")
            return application.client_id

        client_id = _run(settings, work)
        _print_secret(client_id, plaintext, as_json)

    @group.command("list")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    def list_(as_json: bool) -> None:
        """Every application: id, name, state, client id, scopes, allowed domains."""

        async def work(session: AsyncSession) -> list[dict[str, Any]]:
            applications = await all_applications(session)
            domains = await domains_of(session, [a.id for a in applications])
            return [
                {
                    "id": str(a.id),
                    "name": a.name,
                    "is_active": a.is_active,
                    "client_id": a.client_id,
                    "scopes": list(a.scopes),
                    "domains": domains.get(a.id, []),
                }
                for a in applications
            ]

        for row in _run(settings, work):
            if as_json:
                click.echo(json.dumps(row))
            else:
                state = "active" if row["is_active"] else "inactive"
                click.echo(
                    f"{row['id']}  {row['name']}  [{state}]  client_id={row['client_id']}  "
                    f"scopes={','.join(row['scopes']) or '-'}  domains={','.join(row['domains']) or 'any'}"
                )

    def _set_active(active: bool) -> Callable[[str], None]:
        def command(key: str) -> None:
            async def work(session: AsyncSession) -> str:
                application = await _get(session, key)
                application.is_active = active
                return application.name

            name = _run(settings, work)
            click.echo(f"application {name!r} {'activated' if active else 'deactivated'}")

        return command

    group.command("activate", help="Activate application ID (its tokens work again).")(
        click.argument("key", metavar="ID")(_set_active(True))
    )
    group.command("deactivate", help="Deactivate application ID: no new token, its tokens stop working.")(
        click.argument("key", metavar="ID")(_set_active(False))
    )

    @group.command("rotate-secret")
    @click.argument("key", metavar="ID")
    @click.option("--client-secret", "secret", default=None, help="Use this secret instead of drawing one.")
    @click.option("--json", "as_json", is_flag=True, help="End with a JSON line of the credentials.")
    def rotate_secret(key: str, secret: str | None, as_json: bool) -> None:
        """Replace the secret of application ID (the old one stops working) and print the new one."""
        plaintext = secret if secret is not None else draw(config.application_client_secret_length)
        if not plaintext:
            raise click.ClickException("the client secret may not be empty")

        async def work(session: AsyncSession) -> str:
            application = await _get(session, key)
            application.client_secret = await asyncio.to_thread(hash_secret, plaintext)
            return application.client_id

        _print_secret(_run(settings, work), plaintext, as_json)

    return group
