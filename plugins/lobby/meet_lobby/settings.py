"""The lobby's settings section: the old system's variable names and defaults (spec/api.md §6).

Timeouts are seconds; fractions are accepted (the old system only took integers), which lets
tests and small deployments shorten them.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from meet_core.api import parse_rate

Seconds = Annotated[float, msgspec.Meta(gt=0)]


class LobbySettings(msgspec.Struct, kw_only=True, rename="upper"):
    """Field ``foo`` is read from ``FOO`` (or ``DJANGO_FOO``, ``FOO_FILE``)."""

    #: Namespace of the lobby's Valkey keys (``lobby:<prefix>:{<room id>}:...``).
    lobby_key_prefix: str = "room_lobby"
    #: A waiting participant is forgotten when it has not polled for this long.
    lobby_waiting_timeout: Seconds = 3
    #: How long a refusal is remembered; the next poll after it queues the participant again.
    lobby_denied_timeout: Seconds = 5
    #: How long an admission is valid (the LiveKit token lifetime).
    lobby_accepted_timeout: Seconds = 21600
    #: ``type`` of the data message sent to the room when someone starts waiting.
    lobby_notification_type: str = "participantWaiting"
    #: Cookie holding the participant id.
    lobby_cookie_name: str = "lobbyParticipantId"
    #: Rate limit of request-entry, per user, per participant id, or per address without cookie.
    request_entry_throttle_rates: str = "150/minute"
    #: Ceiling of request-entry per client address for anonymous callers, whatever their lobby
    #: cookie (rotating cookies must not give unlimited requests). A waiting participant polls
    #: once a second: the default lets 50 wait at once behind one address (a shared NAT).
    request_entry_address_throttle_rates: str = "3000/minute"
    #: After LiveKit reports that an admitted participant left, the admission lasts this long
    #: (enough for a page reload or a reconnection); 0 forgets it at once.
    lobby_rejoin_timeout: Annotated[float, msgspec.Meta(ge=0)] = 120
    #: Upper bound of the best-effort notification to the room (it runs after the response).
    lobby_notification_timeout: Seconds = 2

    def __post_init__(self) -> None:
        parse_rate(self.request_entry_throttle_rates)  # ValueError -> reported at start-up
        parse_rate(self.request_entry_address_throttle_rates)
        if not self.lobby_key_prefix or not self.lobby_cookie_name:
            raise ValueError("LOBBY_KEY_PREFIX and LOBBY_COOKIE_NAME must not be empty")
