"""The hooks the recording plugin declares (``meet_add_hookspecs``): recording modes.

A mode is what the ``mode`` of ``start-recording`` names: its file extension and its LiveKit
egress request. The two built-in modes (``screen_recording``, ``transcript``) are implemented
by the plugin itself through the same hook; another plugin adds a mode by implementing it
(``@hookimpl(optionalhook=True)`` when the recording plugin may be absent).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from meet_core.api import Settings, hookspec

if TYPE_CHECKING:
    from meet_recording.modes import RecordingMode


@hookspec
def meet_recording_modes(
    settings: Settings,
) -> list[RecordingMode] | Awaitable[list[RecordingMode] | None] | None:
    """Return the recording modes this plugin offers, as ``meet_recording.RecordingMode`` objects.

    Called once per application, when it starts (its lifespan), with the application's
    ``Settings`` (read your own section with ``settings.section(...)``). Every implementation's modes
    are collected (``call_all``); when two plugins declare the same name, the one registered
    last wins. Each mode's ``egress_request(room_name, output)`` builds the LiveKit
    ``RoomCompositeEgressRequest`` (or another egress request) for a recording.
    """
