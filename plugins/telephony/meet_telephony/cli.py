"""``meet telephony backfill``: give a PIN to every room that has none.

Rooms created before the plugin was enabled get their PIN lazily, the first time they are
shown or started; this command does it at once (e.g. before printing PINs on invitations).
"""

from __future__ import annotations

import asyncio

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker

from meet_telephony._core import database_config, load_settings
from meet_telephony.pins import ensure_pin, rooms_without_pin
from meet_telephony.settings import PLUGIN_NAME, TelephonySettings


@click.group("telephony")
def telephony_group() -> None:
    """Telephony plugin: room PINs."""


@telephony_group.command("backfill")
@click.option(
    "--batch-size", default=500, show_default=True, type=click.IntRange(min=1), help="Rooms per transaction."
)
def backfill(batch_size: int) -> None:
    """Draw a PIN for every room that has none (rooms made before the plugin was enabled)."""
    try:
        settings, _ = load_settings()
    except Exception as exc:  # SettingsError, PluginError: the message says what to fix
        raise click.ClickException(str(exc)) from exc
    if PLUGIN_NAME not in settings.sections:
        raise click.ClickException(
            "the telephony plugin is not enabled (MEET_PLUGINS or ROOM_TELEPHONY_ENABLED)"
        )
    config = settings.section(PLUGIN_NAME, TelephonySettings)

    async def run() -> tuple[int, int]:
        engine = database_config(settings.core).get_engine()
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        given = failed = 0
        try:
            async with sessions() as session:
                room_ids = list(await rooms_without_pin(session))
            for start in range(0, len(room_ids), batch_size):
                async with sessions() as session:
                    for room_id in room_ids[start : start + batch_size]:
                        pin = await ensure_pin(
                            session, room_id, config.room_telephony_pin_length,
                            config.room_telephony_pin_max_retries,
                        )  # fmt: skip
                        given, failed = (given + 1, failed) if pin else (given, failed + 1)
                    await session.commit()
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"database error ({type(exc).__name__}); is the schema there? run `meet db upgrade`"
            ) from exc
        finally:
            await engine.dispose()
        return given, failed

    given, failed = asyncio.run(run())
    click.echo(f"{given} room(s) given a PIN")
    if failed:
        raise click.ClickException(f"{failed} room(s) left without a PIN: no free PIN found, see the log")
