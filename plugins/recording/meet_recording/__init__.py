"""Meet server plugin ``recording``: screen recordings and transcripts through LiveKit egress.

Enabled by ``MEET_PLUGINS=...,recording`` or, when ``MEET_PLUGINS`` is unset, by the old flag
``RECORDING_ENABLE=true``. See ``README.md`` beside this package.
"""

from meet_recording.modes import RecordingMode
from meet_recording.plugin import RecordingPlugin

__all__ = ["RecordingMode", "RecordingPlugin"]
