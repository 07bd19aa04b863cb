"""``meet files clean-pending`` / ``purge-deleted`` and the plugin's migration lineage."""

from __future__ import annotations

import asyncio
import datetime
import uuid

from sqlalchemy import select, update

from meet_core.testing import schema_diff
from meet_core.testing.factories import session_maker
from meet_files.models import File

BUCKET = "meet-media-storage"


async def _age(files, file_id: str, **fields: datetime.timedelta) -> None:
    """Move ``created_at`` / ``deleted_at`` of a file into the past by the given amounts."""
    now = datetime.datetime.now(datetime.UTC)
    async with session_maker(files.meet.app)() as session:
        values = {name: now - delta for name, delta in fields.items()}
        await session.execute(update(File).where(File.id == uuid.UUID(file_id)).values(**values))
        await session.commit()


async def _ids(files) -> set[str]:
    async with session_maker(files.meet.app)() as session:
        return {str(i) for i in (await session.scalars(select(File.id))).all()}


def _cli(meet_cli, meet_env, s3, *args: str) -> str:
    env = {"DATABASE_URL": meet_env["DATABASE_URL"], **s3.env(BUCKET)}
    return str(meet_cli("files", *args, plugins="files", env=env))


async def test_clean_pending_removes_old_unfinished_uploads_and_their_objects(files, meet_cli, meet_env):
    await files.login()
    old = (await files.create("old.png")).json()
    await files.put(old["policy"], files.png())
    recent = (await files.create("recent.png")).json()
    await files.put(recent["policy"], files.png())
    ready = await files.upload(files.png(), filename="ready.png")
    await _age(files, old["id"], created_at=datetime.timedelta(hours=25))
    await _age(files, ready["id"], created_at=datetime.timedelta(hours=25))

    output = await asyncio.to_thread(_cli, meet_cli, meet_env, files.s3, "clean-pending", "--hours", "24")

    assert output.strip() == "1 pending file(s) removed"
    assert await _ids(files) == {recent["id"], ready["id"]}
    assert files.keys() == sorted([f"tmp/files/{recent['id']}.png", f"files/{ready['id']}.png"])
    output = await asyncio.to_thread(_cli, meet_cli, meet_env, files.s3, "clean-pending", "--hours", "0")
    assert output.strip() == "1 pending file(s) removed"
    assert await _ids(files) == {ready["id"]}


async def test_purge_deleted_after_the_grace_period(files, meet_cli, meet_env):
    await files.login()
    expired = await files.upload(files.png(), filename="expired.png")
    recent = await files.upload(files.png(), filename="recent.png")
    alive = await files.upload(files.png(), filename="alive.png")
    for file in (expired, recent):
        assert (await files.meet.client.delete(f"/api/v1.0/files/{file['id']}/")).status_code == 204
    await _age(files, expired["id"], deleted_at=datetime.timedelta(days=8))

    output = await asyncio.to_thread(_cli, meet_cli, meet_env, files.s3, "purge-deleted")

    assert output.strip() == "1 deleted file(s) purged"
    assert await _ids(files) == {recent["id"], alive["id"]}
    assert files.keys() == sorted([f"files/{recent['id']}.png", f"files/{alive['id']}.png"])
    # The media of a purged file is gone for good; the soft-deleted one is refused by media-auth.
    response = await files.meet.client.get(
        "/api/v1.0/files/media-auth/", headers={"X-Original-URL": expired["url"]}
    )
    assert response.status_code == 403


def test_commands_are_absent_without_the_plugin(meet_cli):
    output = meet_cli("files", "purge-deleted", plugins="lobby", expect_exit=2)
    assert "No such command 'files'" in output


def test_the_migration_lineage_builds_the_plugin_table(meet_cli, empty_database):
    meet_cli("db", "upgrade", plugins="files")
    assert schema_diff(empty_database, {"meet_files_file"}) == []
    assert "the migrations match the models" in meet_cli("db", "check", plugins="files")
