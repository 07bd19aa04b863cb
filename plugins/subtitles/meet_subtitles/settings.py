"""The ``subtitles`` settings section (read from the environment like the core's)."""

from __future__ import annotations

from typing import Annotated

import msgspec

#: The plugin's short name: its entry point name and the key of its settings section.
PLUGIN_NAME = "subtitles"

#: The agent of La Suite Meet's ``multi_user_transcriber.py``.
DEFAULT_AGENT_NAME = "multi-user-transcriber"


class SubtitlesSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``ROOM_SUBTITLE_AGENT_NAME``: the LiveKit agent dispatched to transcribe a room.

    It must not be blank: LiveKit treats an empty agent name as "the default agent", which
    would silently dispatch some other worker.
    """

    room_subtitle_agent_name: Annotated[str, msgspec.Meta(min_length=1, pattern=r"\S")] = DEFAULT_AGENT_NAME
