"""Recording modes: the two built-in ones, and the registry filled by ``meet_recording_modes``.

A mode names its file extension, its MIME type, the notifications it sends when the file is
saved and builds its egress request; ``egress.py`` starts whatever request it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from livekit import api as lk

from meet_recording.settings import RecordingSettings

EgressRequest = lk.RoomCompositeEgressRequest | lk.TrackCompositeEgressRequest | lk.WebEgressRequest


@dataclass(frozen=True)
class RecordingMode:
    """A recording mode offered by a plugin (``meet_recording_modes``).

    ``egress_request(room_name, filepath, output)`` returns the egress request; ``output`` is the
    ``EncodedFileOutput`` prepared with the file path and the S3 upload target (put it in
    ``file_outputs``). ``notify`` tells what completion does: ``"email"`` (the owners get the
    download link), ``"summary"`` (the summary service gets the file), or ``"none"``.
    """

    name: str
    extension: str
    content_type: str
    egress_request: Callable[[str, lk.EncodedFileOutput], EgressRequest]
    notify: Literal["email", "summary", "none"] = "none"
    #: The participants' notification when egress hits its limit (``{"type": ...}``).
    limit_reached_type: str | None = None


def builtin_modes(settings: RecordingSettings) -> list[RecordingMode]:
    """``screen_recording`` (room composite MP4) and ``transcript`` (audio-only OGG), §7.3."""

    def screen(room_name: str, output: lk.EncodedFileOutput) -> EgressRequest:
        output.file_type = lk.EncodedFileType.MP4
        fields: dict[str, Any] = {"room_name": room_name, "file_outputs": [output], "layout": "speaker-light"}
        if settings.recording_encoding_enabled:
            fields["advanced"] = lk.EncodingOptions(
                width=settings.recording_encoding_width,
                height=settings.recording_encoding_height,
                framerate=settings.recording_encoding_framerate,
                video_bitrate=settings.recording_encoding_video_bitrate_kbps,
                audio_bitrate=settings.recording_encoding_audio_bitrate_kbps,
                key_frame_interval=settings.recording_encoding_key_frame_interval_s,
                video_codec=lk.VideoCodec.H264_MAIN,
                audio_codec=lk.AudioCodec.AAC,
                audio_frequency=48000,
            )
        return lk.RoomCompositeEgressRequest(**fields)

    def transcript(room_name: str, output: lk.EncodedFileOutput) -> EgressRequest:
        output.file_type = lk.EncodedFileType.OGG
        return lk.RoomCompositeEgressRequest(room_name=room_name, file_outputs=[output], audio_only=True)

    return [
        RecordingMode("screen_recording", "mp4", "video/mp4", screen, "email", "screenRecordingLimitReached"),
        RecordingMode("transcript", "ogg", "audio/ogg", transcript, "summary", "transcriptionLimitReached"),
    ]
