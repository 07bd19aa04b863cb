"""No stuck recordings (reconcile, room_finished) and retention (purge), services.md §7 beyond."""

from __future__ import annotations

import asyncio
import datetime

from livekit.protocol import egress as eg
from sqlalchemy import update

from meet_core.testing.factories import session_maker
from meet_recording.models import Recording

API = "/api/v1.0"
BUCKET = "meet-media-storage"


async def _age(meet, recording_id, **delta) -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(**delta)
    async with session_maker(meet.app)() as session:
        await session.execute(update(Recording).where(Recording.id == recording_id).values(created_at=old))
        await session.commit()


async def test_room_finished_closes_recordings_whose_egress_is_over(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    await kit.start(meet, room)
    [recording] = await kit.recordings(meet)
    kit.livekit.set_egress_status(recording.worker_id, eg.EGRESS_ACTIVE)
    await kit.webhook(meet, "room_finished", room={"name": str(room.id)})
    assert (await kit.recording(meet, recording.id)).status == "active"  # still running: left alone
    kit.livekit.set_egress_status(recording.worker_id, eg.EGRESS_FAILED)
    await kit.webhook(meet, "room_finished", room={"name": str(room.id)})
    assert (await kit.recording(meet, recording.id)).status == "aborted"
    assert (await kit.start(meet, room)).status_code == 201  # the room is free again


async def test_reconcile_command_closes_what_livekit_no_longer_runs(kit, meet_cli, database_url) -> None:
    """``meet recordings reconcile`` (no application running) on the app's database."""
    meet = await kit.app()
    owner = await meet.create_user()
    await meet.login(owner)
    rooms = [await meet.create_room(accesses=[(owner, "owner")]) for _ in range(6)]
    for room in rooms[:4]:
        assert (await kit.start(meet, room)).status_code == 201
    running, complete, failed, gone = await kit.recordings(meet)
    kit.livekit.set_egress_status(running.worker_id, eg.EGRESS_ACTIVE)
    kit.livekit.set_egress_status(complete.worker_id, eg.EGRESS_COMPLETE)
    kit.livekit.set_egress_status(failed.worker_id, eg.EGRESS_FAILED)
    async with session_maker(meet.app)() as session:
        await session.execute(update(Recording).where(Recording.id == gone.id).values(worker_id="EG_gone"))
        crashed = Recording(room_id=rooms[4].id, status="initiated")
        starting = Recording(room_id=rooms[5].id, status="initiated")
        session.add_all([crashed, starting])
        await session.commit()
    await _age(meet, crashed.id, hours=1)

    output = await asyncio.to_thread(
        meet_cli, "recordings", "reconcile", plugins="recording", env={"DATABASE_URL": database_url}
    )
    assert "4 recording(s) closed" in output
    statuses = {r.id: r.status for r in await kit.recordings(meet)}
    assert statuses == {
        running.id: "active",
        complete.id: "stopped",
        failed.id: "aborted",
        gone.id: "aborted",
        crashed.id: "failed_to_start",
        starting.id: "initiated",
    }
    kit.livekit.set_down()
    output = await asyncio.to_thread(
        meet_cli, "recordings", "reconcile", plugins="recording", env={"DATABASE_URL": database_url}
    )
    assert "0 recording(s) closed" in output  # LiveKit unreachable: nothing decided
    kit.livekit.set_down(False)


async def test_purge_deletes_expired_files_and_marks_rows(kit, meet_cli, database_url) -> None:
    meet = await kit.app(RECORDING_EXPIRATION_DAYS="3")
    room, _ = await kit.room_with_owner(meet)
    s3 = kit.s3.client()
    await kit.start(meet, room)
    [old] = await kit.recordings(meet)
    await kit.set_status(meet, old.id, "saved")
    await kit.start(meet, room)
    fresh = (await kit.recordings(meet))[-1]
    await kit.set_status(meet, fresh.id, "saved")
    for recording in (old, fresh):
        s3.put_object(Bucket=BUCKET, Key=f"recordings/{recording.id}.mp4", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key=f"metadata/{old.id}-metadata.json", Body=b"{}")
    await _age(meet, old.id, days=4)

    env = {"DATABASE_URL": database_url, **kit.s3.env(BUCKET)}
    never = await asyncio.to_thread(meet_cli, "recordings", "purge", plugins="recording", env=env)
    assert "never expire" in never
    env["RECORDING_EXPIRATION_DAYS"] = "3"
    output = await asyncio.to_thread(
        meet_cli, "recordings", "purge", "--dry-run", plugins="recording", env=env
    )
    assert f"{old.id}\n1 recording(s) expired" in output
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 3
    output = await asyncio.to_thread(meet_cli, "recordings", "purge", plugins="recording", env=env)
    assert f"{old.id}\n1 recording(s) purged" in output
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert keys == {f"recordings/{fresh.id}.mp4"}
    assert "purged_at" in (await kit.recording(meet, old.id)).options
    output = await asyncio.to_thread(meet_cli, "recordings", "purge", plugins="recording", env=env)
    assert "0 recording(s) purged" in output  # marked: not purged twice
    listed = (await meet.client.get(f"{API}/recordings/")).json()["results"]
    assert {r["id"]: r["is_expired"] for r in listed} == {str(old.id): True, str(fresh.id): False}
