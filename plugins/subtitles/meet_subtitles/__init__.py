"""Meet server plugin ``subtitles``: start and stop the transcriber agent of a meeting.

Enabled by ``MEET_PLUGINS=...,subtitles`` or, when ``MEET_PLUGINS`` is unset, by the old flag
``ROOM_SUBTITLE_ENABLED=true``. See ``README.md`` beside this package.
"""

from meet_subtitles.plugin import SubtitlesPlugin

__all__ = ["SubtitlesPlugin"]
