"""``meet files clean-pending`` and ``meet files purge-deleted``: rows and their S3 objects.

Run them from cron. Objects are deleted before their rows, so that a failure leaves a row to
retry with, never an object nobody knows of.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence

import click
from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.exc import SQLAlchemyError

from meet_core.api import Settings, database_sessions
from meet_files.models import File, UploadState
from meet_files.schemas import file_key
from meet_files.settings import PLUGIN_NAME, FilesSettings
from meet_files.storage import Storage

BATCH = 500


def files_group(settings: Settings) -> click.Group:
    """``meet files ...``, on the settings of the running command line."""

    @click.group("files")
    def group() -> None:
        """Files plugin: clean up uploads."""

    @group.command("clean-pending")
    @click.option(
        "--hours",
        default=24,
        show_default=True,
        type=click.IntRange(min=0),
        help="Age (since creation) of the unfinished uploads to remove.",
    )
    def clean_pending(hours: int) -> None:
        """Remove files whose upload never finished (pending or stuck analysing), with their objects."""
        cutoff = _now() - datetime.timedelta(hours=hours)
        condition = (
            File.upload_state.in_([UploadState.PENDING, UploadState.ANALYZING]),
            File.created_at < cutoff,
        )
        click.echo(f"{_purge(settings, condition)} pending file(s) removed")

    @group.command("purge-deleted")
    def purge_deleted() -> None:
        """Remove files hard-deleted, or soft-deleted over FILE_PURGE_GRACE_DAYS ago, and their objects."""
        days = settings.section(PLUGIN_NAME, FilesSettings).file_purge_grace_days
        cutoff = _now() - datetime.timedelta(days=days)
        condition = (or_(File.hard_deleted_at.is_not(None), File.deleted_at < cutoff),)
        click.echo(f"{_purge(settings, condition)} deleted file(s) purged")

    return group


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _purge(settings: Settings, condition: Sequence[ColumnElement[bool]]) -> int:
    try:
        return asyncio.run(_purge_async(settings, condition))
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database error ({type(exc).__name__}); is the schema there? run `meet db upgrade`"
        ) from exc
    except Exception as exc:
        if type(exc).__module__.startswith(("botocore", "boto3")):
            raise click.ClickException(f"storage error: {exc}") from exc
        raise


async def _purge_async(settings: Settings, condition: Sequence[ColumnElement[bool]]) -> int:
    """Delete the objects, then the rows, of the files matching ``condition``, batch by batch."""
    config = settings.section(PLUGIN_NAME, FilesSettings)
    storage = Storage(settings)
    removed = 0
    async with database_sessions(settings) as sessions:
        while True:
            async with sessions() as session:
                files = list((await session.scalars(select(File).where(*condition).limit(BATCH))).all())
                if not files:
                    return removed
                for file in files:
                    await asyncio.to_thread(
                        storage.delete,
                        file_key(config.file_upload_tmp_path, file),
                        file_key(config.file_upload_path, file),
                    )
                await session.execute(delete(File).where(File.id.in_([f.id for f in files])))
                await session.commit()
                removed += len(files)
