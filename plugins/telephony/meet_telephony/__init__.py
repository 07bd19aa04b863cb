"""Meet server plugin ``telephony``: room PINs, LiveKit SIP dispatch rules and roomkit join.

Enabled by ``MEET_PLUGINS=...,telephony`` or, when ``MEET_PLUGINS`` is unset, by the old flag
``ROOM_TELEPHONY_ENABLED=true``. See ``README.md`` beside this package.
"""

from meet_telephony.plugin import TelephonyPlugin

__all__ = ["TelephonyPlugin"]
