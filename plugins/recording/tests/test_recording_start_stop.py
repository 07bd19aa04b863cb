"""Start and stop (api.md §2.5, services.md §7.2-7.4) through the real LiveKitAPI client."""

from __future__ import annotations

import asyncio
import json

from livekit.protocol import egress as eg
from livekit.protocol import models

API = "/api/v1.0"
BUCKET = "meet-media-storage"


async def test_start_screen_recording_sends_the_egress_request_and_activates(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    kit.livekit.add_room(str(room.id), metadata=json.dumps({"access_level": "public"}))
    response = await kit.start(meet, room, options={"language": "fr", "transcribe": "yes"})
    assert response.status_code == 201, response.text
    assert response.json() == {"message": f"Recording successfully started for room {room.slug}"}
    [recording] = await kit.recordings(meet)
    assert recording.status == "active" and recording.mode == "screen_recording"
    assert recording.options == {"language": "fr", "transcribe": True}
    call = kit.livekit.last_call("StartRoomCompositeEgress", "Egress")
    request = call.request
    assert request.room_name == str(room.id) and request.layout == "speaker-light"
    assert not request.audio_only and not request.HasField("advanced")
    [output] = request.file_outputs
    assert output.file_type == eg.EncodedFileType.MP4
    assert output.filepath == f"recordings/{recording.id}.mp4"
    assert output.s3.bucket == BUCKET and output.s3.force_path_style
    assert output.s3.endpoint == kit.s3.url and output.s3.access_key == "testing-access-key"
    assert output.s3.region == "us-east-1"
    assert recording.worker_id == kit.livekit.egress(recording.worker_id).egress_id
    metadata = json.loads(kit.livekit.room(str(room.id)).metadata)
    assert metadata == {
        "access_level": "public",
        "recording_mode": "screen_recording",
        "recording_status": "starting",
    }


async def test_transcript_is_audio_only_ogg_and_encoding_options_apply_to_screen(kit) -> None:
    meet = await kit.app(RECORDING_ENCODING_ENABLED="true", RECORDING_ENCODING_WIDTH="1920")
    room, _ = await kit.room_with_owner(meet)
    response = await kit.start(meet, room, mode="transcript", options={"original_mode": "screen_recording"})
    assert response.status_code == 201
    request = kit.livekit.last_call("StartRoomCompositeEgress").request
    assert request.audio_only and not request.layout and not request.HasField("advanced")
    assert request.file_outputs[0].file_type == eg.EncodedFileType.OGG
    [recording] = await kit.recordings(meet)
    assert request.file_outputs[0].filepath == f"recordings/{recording.id}.ogg"

    assert (await meet.client.post(f"{API}/rooms/{room.id}/stop-recording/")).status_code == 200
    assert (await kit.start(meet, room)).status_code == 201
    advanced = kit.livekit.last_call("StartRoomCompositeEgress").request.advanced
    assert (advanced.width, advanced.height, advanced.framerate) == (1920, 720, 30)
    assert (advanced.video_bitrate, advanced.audio_bitrate, advanced.audio_frequency) == (3000, 128, 48000)
    assert advanced.key_frame_interval == 4.0
    assert (
        advanced.video_codec == models.VideoCodec.H264_MAIN and advanced.audio_codec == models.AudioCodec.AAC
    )


async def test_invalid_bodies_are_one_400_checked_before_the_room(kit) -> None:
    meet = await kit.app()
    await kit.room_with_owner(meet)
    bodies = [
        {},
        {"mode": "nope"},
        {"mode": 3},
        {"mode": "transcript", "options": {"extra": 1}},
        {"mode": "transcript", "options": {"transcribe": "maybe"}},
        {"mode": "transcript", "options": {"language": 5}},
        {"mode": "transcript", "options": {"original_mode": "film"}},
        {"mode": "transcript", "options": []},
    ]
    for body in bodies:
        response = await meet.client.post(f"{API}/rooms/unknown-room/start-recording/", json=body)
        assert response.status_code == 400, body
        assert response.json() == {"detail": "Invalid request."}
    assert (await kit.start(meet, type("R", (), {"id": "unknown-room"}))).status_code == 404


async def test_gates_anonymous_member_and_unknown_room(kit) -> None:
    meet = await kit.app()
    member = await meet.create_user()
    room = await meet.create_room(accesses=[(member, "member")])
    response = await kit.start(meet, room)
    assert response.status_code == 401
    await meet.login(member)
    assert (await kit.start(meet, room)).status_code == 403
    assert (await meet.client.post(f"{API}/rooms/{room.id}/stop-recording/")).status_code == 403
    assert await kit.recordings(meet) == []


async def test_concurrent_starts_one_wins_the_other_is_409(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    responses = await asyncio.gather(*(kit.start(meet, room) for _ in range(3)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409], [r.text for r in responses]
    conflict = next(r for r in responses if r.status_code == 409)
    assert conflict.json() == {"error": f"A recording is already in progress for room {room.slug}"}
    assert len(kit.livekit.calls_to("StartRoomCompositeEgress")) == 1
    assert [r.status for r in await kit.recordings(meet)] == ["active"]


async def test_failed_egress_is_502_and_does_not_block_the_next_start(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    kit.livekit.fail("StartRoomCompositeEgress", times=1)
    response = await kit.start(meet, room)
    assert response.status_code == 502
    assert response.json() == {"error": f"Recording failed to start for room {room.slug}"}
    assert [r.status for r in await kit.recordings(meet)] == ["failed_to_start"]
    assert (await kit.start(meet, room)).status_code == 201
    assert [r.status for r in await kit.recordings(meet)] == ["failed_to_start", "active"]


async def test_metadata_failure_is_best_effort(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    kit.livekit.add_room(str(room.id))
    kit.livekit.fail("UpdateRoomMetadata")
    assert (await kit.start(meet, room)).status_code == 201
    assert [r.status for r in await kit.recordings(meet)] == ["active"]


async def test_stop_maps_ending_to_stopped(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    assert (await meet.client.post(f"{API}/rooms/{room.id}/stop-recording/")).json() == {
        "detail": "No active recording found for this room."
    }
    await kit.start(meet, room)
    [recording] = await kit.recordings(meet)
    kit.livekit.set_egress_status(recording.worker_id, eg.EGRESS_ACTIVE)
    admin = await meet.create_user()
    from meet_core.api import ResourceAccess
    from meet_core.testing.factories import session_maker

    async with session_maker(meet.app)() as session:
        session.add(ResourceAccess(resource_id=room.id, user_id=admin.id, role="administrator"))
        await session.commit()
    await meet.login(admin)  # any administrator of the room may stop
    response = await meet.client.post(f"{API}/rooms/{room.slug}/stop-recording/")
    assert response.status_code == 200
    assert response.json() == {"message": f"Recording stopped for room {room.slug}."}
    assert kit.livekit.last_call("StopEgress").request.egress_id == recording.worker_id
    assert (await kit.recording(meet, recording.id)).status == "stopped"


async def test_stop_maps_aborted_and_other_statuses(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    await kit.start(meet, room)
    [first] = await kit.recordings(meet)
    kit.livekit.set_stop_status(eg.EGRESS_ABORTED)
    assert (await meet.client.post(f"{API}/rooms/{room.id}/stop-recording/")).status_code == 200
    assert (await kit.recording(meet, first.id)).status == "aborted"

    await kit.start(meet, room)
    second = (await kit.recordings(meet))[-1]
    kit.livekit.set_stop_status(eg.EGRESS_COMPLETE)  # neither ENDING nor ABORTED: a failed stop
    response = await meet.client.post(f"{API}/rooms/{room.id}/stop-recording/")
    assert response.status_code == 500
    assert response.json() == {"error": f"Recording failed to stop for room {room.slug}"}
    assert (await kit.recording(meet, second.id)).status == "failed_to_stop"


async def test_stop_transport_error_and_starting_status_are_failed_to_stop(kit) -> None:
    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    for setup in ("fail", "starting"):
        await kit.start(meet, room)
        recording = (await kit.recordings(meet))[-1]
        kit.livekit.clear_failures()
        if setup == "fail":
            kit.livekit.fail("StopEgress", times=1)
        else:
            kit.livekit.set_stop_status(eg.EGRESS_STARTING)
        response = await meet.client.post(f"{API}/rooms/{room.id}/stop-recording/")
        assert response.status_code == 500, setup
        assert (await kit.recording(meet, recording.id)).status == "failed_to_stop"
        kit.livekit.set_stop_status(None)


async def test_the_database_refuses_a_second_recording_in_progress(kit) -> None:
    """The partial unique index itself (the 409's backstop), whatever the route does."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from meet_core.testing.factories import session_maker
    from meet_recording.models import Recording

    meet = await kit.app()
    room, _ = await kit.room_with_owner(meet)
    maker = session_maker(meet.app)
    async with maker() as session:
        session.add_all(
            [Recording(room_id=room.id, status="stopped"), Recording(room_id=room.id, status="saved")]
        )
        session.add(Recording(room_id=room.id, status="initiated"))
        await session.commit()
    for status in ("initiated", "active"):
        async with maker() as session:
            session.add(Recording(room_id=room.id, status=status))
            with pytest.raises(IntegrityError):
                await session.commit()
    other = await meet.create_room()
    async with maker() as session:
        session.add(Recording(room_id=other.id, status="active"))
        await session.commit()


async def test_metadata_collector_dispatch_and_its_removal(kit) -> None:
    meet = await kit.app(METADATA_COLLECTOR_ENABLED="true", RECORDING_STORAGE_EVENT_ENABLE="true")
    room, _ = await kit.room_with_owner(meet)
    assert (await kit.start(meet, room, options={"collect_metadata": True})).status_code == 201
    [recording] = await kit.recordings(meet)
    call = kit.livekit.last_call("CreateDispatch").request
    assert (call.agent_name, call.room, call.metadata) == (
        "metadata-collector",
        str(room.id),
        str(recording.id),
    )
    dispatch_id = recording.options["metadata_collector_dispatch_id"]
    [dispatch] = kit.livekit.dispatches(str(room.id))
    assert dispatch.id == dispatch_id
    info = {"egressId": recording.worker_id, "roomName": str(room.id), "status": "EGRESS_COMPLETE"}
    await kit.webhook(meet, "egress_ended", egress_info=info)
    assert kit.livekit.dispatches(str(room.id)) == []
