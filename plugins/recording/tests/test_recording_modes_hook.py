"""Recording modes are a hook of the plugin: a second plugin adds one without touching it."""

from __future__ import annotations

from typing import Any

from livekit import api as lk
from livekit.protocol import egress as eg

from meet_core.api import hookimpl
from meet_recording import RecordingMode, RecordingPlugin

API = "/api/v1.0"


class GridPlugin:
    """A test plugin: a ``grid_recording`` mode (web egress to MP4), e-mailed like screen recordings."""

    name = "grid"

    @hookimpl(optionalhook=True)
    def meet_recording_modes(self, settings: Any) -> list[RecordingMode]:
        def request(room_name: str, output: lk.EncodedFileOutput) -> lk.RoomCompositeEgressRequest:
            output.file_type = lk.EncodedFileType.MP4
            return lk.RoomCompositeEgressRequest(room_name=room_name, file_outputs=[output], layout="grid")

        return [RecordingMode("grid_recording", "mkv", "video/x-matroska", request, notify="none")]


async def test_a_second_plugin_adds_a_mode(kit) -> None:
    for plugins in ([RecordingPlugin, GridPlugin], [GridPlugin, RecordingPlugin]):
        meet = await kit.app(plugins=plugins, RECORDING_STORAGE_EVENT_ENABLE="true",
                             RECORDING_ENABLE_STORAGE_EVENT_AUTH="false")  # fmt: skip
        modes = (await meet.client.get(f"{API}/config/")).json()["recording"]["available_modes"]
        assert set(modes) == {"screen_recording", "transcript", "grid_recording"}
    room, _ = await kit.room_with_owner(meet)
    assert (await kit.start(meet, room, mode="grid_recording")).status_code == 201
    [recording] = await kit.recordings(meet)
    request = kit.livekit.last_call("StartRoomCompositeEgress").request
    assert request.layout == "grid" and request.file_outputs[0].filepath == f"recordings/{recording.id}.mkv"
    assert request.file_outputs[0].s3.bucket == "meet-media-storage"
    # Its files complete through the storage hook by the mode's own content type.
    key = f"recordings%2F{recording.id}.mkv"
    body = {"Records": [{"s3": {"bucket": {"name": "meet-media-storage"},
                                "object": {"key": key, "contentType": "video/x-matroska"}}}]}  # fmt: skip
    response = await meet.client.post(f"{API}/recordings/storage-hook/", json=body)
    assert response.json() == {"message": "Event processed."}
    assert (await kit.recording(meet, recording.id)).status == "notification_succeeded"  # notify="none"
    assert request.file_outputs[0].file_type == eg.EncodedFileType.MP4


async def test_the_mode_hook_is_optional_without_the_recording_plugin(meet_app) -> None:
    meet = await meet_app(plugins=[GridPlugin])
    assert (await meet.client.get(f"{API}/config/")).json()["recording"]["is_enabled"] is False
