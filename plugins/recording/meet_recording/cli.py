"""``meet recordings reconcile`` and ``meet recordings purge`` (no application running)."""

from __future__ import annotations

import asyncio
import uuid

import click
from livekit import api as lk

from meet_core.api import Settings, database_sessions
from meet_recording import upkeep
from meet_recording.settings import PLUGIN_NAME, RecordingSettings


def recordings_group(settings: Settings) -> click.Group:
    config = settings.section(PLUGIN_NAME, RecordingSettings)

    @click.group("recordings")
    def group() -> None:
        """Recordings: close stuck ones, delete expired files."""

    @group.command("reconcile")
    def reconcile() -> None:
        """Close recordings left initiated/active whose LiveKit egress no longer runs."""

        async def run() -> list[tuple[uuid.UUID, str]]:
            core = settings.core
            client = lk.LiveKitAPI(core.livekit_api_url, core.livekit_api_key, core.livekit_api_secret)
            try:
                async with database_sessions(settings) as sessions, sessions() as session, session.begin():
                    return await upkeep.reconcile(session, client, config)
            finally:
                await client.aclose()

        changed = asyncio.run(run())
        for recording_id, status in changed:
            click.echo(f"{recording_id} {status}")
        click.echo(f"{len(changed)} recording(s) closed")

    @group.command("purge")
    @click.option("--dry-run", is_flag=True, help="List the expired recordings, delete nothing.")
    def purge(dry_run: bool) -> None:
        """Delete from the bucket the files of recordings older than RECORDING_EXPIRATION_DAYS."""
        if not config.recording_expiration_days:
            click.echo("RECORDING_EXPIRATION_DAYS is not set: recordings never expire")
            return

        async def run() -> list[object]:
            async with database_sessions(settings) as sessions, sessions() as session, session.begin():
                return list(await upkeep.purge(session, config, settings.core, dry_run))

        purged = asyncio.run(run())
        for recording_id in purged:
            click.echo(str(recording_id))
        click.echo(f"{len(purged)} recording(s) {'expired' if dry_run else 'purged'}")

    return group
