"""The ``recording`` settings section: the old system's variable names and defaults (spec/api.md §6).

The ``AWS_*`` storage settings are the core's (``settings.core.aws_*``), shared with the files
plugin: one bucket configuration for every plugin that stores media.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

#: The plugin's short name: its entry point name and the key of its settings section.
PLUGIN_NAME = "recording"

#: Where nginx serves the media from (a constant in the old system).
MEDIA_URL = "/media/"

_Secret = Annotated[str | None, msgspec.Meta(extra={"secret": True})]


class RecordingSettings(msgspec.Struct, kw_only=True, rename="upper"):
    """Field ``foo`` is read from ``FOO`` (or ``DJANGO_FOO``, ``FOO_FILE``)."""

    #: Folder of the bucket where egress writes the files (``<folder>/<id>.<ext>``).
    recording_output_folder: str = "recordings"
    #: The old ``{mode: worker class}`` map: only its keys are read, to restrict the modes offered.
    recording_worker_classes: dict[str, str] | None = None
    #: ``MinioParser`` (default) or ``S3Parser``: the format of storage events (a dotted class
    #: path of the old system is accepted; its last part is read).
    recording_event_parser_class: str = "MinioParser"
    #: Recordings complete on the bucket's events (storage hook) rather than on ``egress_ended``.
    recording_storage_event_enable: bool = False
    recording_enable_storage_event_auth: bool = True
    recording_storage_event_token: str | None = None
    #: Days a recording is kept (``expired_at``, ``meet recordings purge``); unset: forever.
    recording_expiration_days: Annotated[int, msgspec.Meta(ge=1)] | None = None
    #: Milliseconds, only shown to the frontend (the limit itself is LiveKit Egress's).
    recording_max_duration: int | None = None
    recording_encoding_enabled: bool = False
    recording_encoding_width: int = 1280
    recording_encoding_height: int = 720
    recording_encoding_framerate: int = 30
    recording_encoding_video_bitrate_kbps: int = 3000
    recording_encoding_audio_bitrate_kbps: int = 128
    recording_encoding_key_frame_interval_s: float = 4.0
    #: The link of the e-mail is ``<base>/<recording id>`` (``SCREEN_RECORDING_BASE_URL``: old name).
    recording_download_base_url: str | None = None
    screen_recording_base_url: str | None = None
    #: Seconds allowed to LiveKit calls, the SMTP server and the summary service.
    recording_livekit_timeout: float = 10.0
    summary_service_timeout: float = 30.0
    summary_service_version: Literal[1, 2] = 1
    summary_service_endpoint: str | None = None
    summary_service_api_token: str | None = None
    summary_service_webhook_api_token: str | None = None
    summary_service_cloud_storage_signed_url_expiry_seconds: int = 86400
    #: ``push_to_docs_config.auto_create_summary`` of v2 (a PostHog flag in the old system).
    summary_service_auto_create_summary: bool = True
    transcription_satisfaction_form_base_url: str | None = None
    metadata_collector_enabled: bool = False
    metadata_collector_agent_name: str = "metadata-collector"
    metadata_collector_output_folder: str = "metadata"

    def __post_init__(self) -> None:
        parser = self.recording_event_parser_class.rsplit(".", 1)[-1]
        if parser not in ("MinioParser", "S3Parser"):
            raise ValueError(
                f"RECORDING_EVENT_PARSER_CLASS {self.recording_event_parser_class!r}: "
                "MinioParser or S3Parser expected"
            )
        self.recording_event_parser_class = parser
        self.recording_output_folder = self.recording_output_folder.strip("/")
        if not self.recording_output_folder:
            raise ValueError("RECORDING_OUTPUT_FOLDER must not be empty")

    @property
    def download_base_url(self) -> str | None:
        return self.recording_download_base_url or self.screen_recording_base_url
