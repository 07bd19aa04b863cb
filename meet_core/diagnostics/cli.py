"""``meet diagnostics clean``: remove expired connection-test rooms from LiveKit (cron-friendly)."""

from __future__ import annotations

import asyncio

import aiohttp
import click
from livekit import api

from meet_core.diagnostics.rooms import clean_test_rooms
from meet_core.livekit.client import open_livekit
from meet_core.settings import CoreSettings, load_section, read_environment


@click.group("diagnostics")
def diagnostics_group() -> None:
    """The connection test's LiveKit rooms."""


@diagnostics_group.command("clean")
def clean() -> None:
    """Delete the connection-test rooms whose tokens expired (TTL + extra age)."""
    errors: list[str] = []
    core = load_section(CoreSettings, read_environment(), errors)
    if core is None or errors:
        raise click.ClickException("Invalid settings:\n" + "\n".join(f"  - {e}" for e in errors))

    async def run() -> list[str]:
        async with open_livekit(core) as client:
            return await clean_test_rooms(core, client)

    try:
        deleted = asyncio.run(run())
    except (api.TwirpError, aiohttp.ClientError, OSError) as exc:
        raise click.ClickException(f"LiveKit failed: {exc}") from exc
    for name in deleted:
        click.echo(f"deleted {name}")
    click.echo(f"{len(deleted)} connection-test room(s) deleted")
