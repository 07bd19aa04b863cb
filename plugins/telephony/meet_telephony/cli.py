"""``meet telephony backfill``: give a PIN to every room that has none.

Rooms created before the plugin was enabled get their PIN lazily, the first time they are
shown or started; this command does it at once (e.g. before printing PINs on invitations).
"""

from __future__ import annotations

import asyncio

import click
from sqlalchemy.exc import SQLAlchemyError

from meet_core.api import Settings, database_sessions
from meet_telephony.pins import ensure_pin, rooms_without_pin
from meet_telephony.settings import PLUGIN_NAME, TelephonySettings


def telephony_group(settings: Settings) -> click.Group:
    """``meet telephony ...``, on the settings of the running command line."""

    @click.group("telephony")
    def group() -> None:
        """Telephony plugin: room PINs."""

    @group.command("backfill")
    @click.option(
        "--batch-size",
        default=500,
        show_default=True,
        type=click.IntRange(min=1),
        help="Rooms per transaction.",
    )
    def backfill(batch_size: int) -> None:
        """Draw a PIN for every room that has none (rooms made before the plugin was enabled)."""
        given, failed = asyncio.run(_backfill(settings, batch_size))
        click.echo(f"{given} room(s) given a PIN")
        if failed:
            raise click.ClickException(f"{failed} room(s) left without a PIN: no free PIN found, see the log")

    return group


async def _backfill(settings: Settings, batch_size: int) -> tuple[int, int]:
    """(rooms given a PIN, rooms left without one), ``batch_size`` rooms per transaction."""
    config = settings.section(PLUGIN_NAME, TelephonySettings)
    given = failed = 0
    async with database_sessions(settings) as sessions:
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
    return given, failed
