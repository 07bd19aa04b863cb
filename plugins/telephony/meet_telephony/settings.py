"""The ``telephony`` settings section: the old system's variable names and defaults (spec/api.md §6).

The phone number is checked here, so that a number or a country that cannot be read stops
the start-up with a clear message instead of silently hiding the number (the old system
logged a warning at the first ``/config/`` request and answered ``enabled: false``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import phonenumbers

from meet_core.api import parse_rate

#: The plugin's short name: its entry point name and the key of its settings section.
PLUGIN_NAME = "telephony"

#: Longest PIN accepted (the table's column width).
MAX_PIN_LENGTH = 32


class TelephonySettings(msgspec.Struct, kw_only=True, rename="upper"):
    """Field ``foo`` is read from ``FOO`` (or ``DJANGO_FOO``, ``FOO_FILE``)."""

    #: Digits of a room PIN (the old system refused fewer than 4).
    room_telephony_pin_length: Annotated[int, msgspec.Meta(ge=4, le=MAX_PIN_LENGTH)] = 10
    #: Draws of a PIN before giving up on a room (it then has none until the next try).
    room_telephony_pin_max_retries: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    #: The number callers dial, shown by the frontend (any format libphonenumber reads).
    room_telephony_phone_number: str | None = None
    #: Region used to read a number written without its international prefix.
    room_telephony_default_country: str = "US"
    #: LiveKit inbound trunks the rooms' dispatch rules apply to; empty: every inbound trunk.
    room_telephony_sip_trunk_ids: list[str] = msgspec.field(default_factory=list)
    #: Whether ``POST /api/v1.0/roomkit/join/`` serves meeting-room devices.
    roomkit_enabled: bool = False
    #: The bearer token roomkit devices' server sends (required to answer anything but 401).
    roomkit_server_to_server_api_token: str | None = None
    #: Rate limit of roomkit join, one bucket shared by every caller.
    roomkit_join_throttle_rates: str = "300/minute"

    def __post_init__(self) -> None:
        parse_rate(self.roomkit_join_throttle_rates)  # ValueError -> reported at start-up
        country = self.room_telephony_default_country.strip().upper()
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"ROOM_TELEPHONY_DEFAULT_COUNTRY {self.room_telephony_default_country!r} "
                "is not a region code libphonenumber knows (e.g. US, FR, DE)"
            )
        self.room_telephony_default_country = country
        if self.room_telephony_phone_number is not None and not self.room_telephony_phone_number.strip():
            self.room_telephony_phone_number = None
        phone_fragment(self)  # ValueError for a number that cannot be read

    @property
    def trunk_ids(self) -> list[str]:
        return [t for t in self.room_telephony_sip_trunk_ids if t]


def phone_fragment(settings: TelephonySettings) -> dict[str, Any]:
    """The ``telephony`` key of ``/config/`` (services.md §4.3).

    Without a number it is ``{"enabled": false}`` (a roomkit-only deployment); a number is
    read with the default country, and must be a possible phone number.
    """
    raw = settings.room_telephony_phone_number
    if raw is None:
        return {"enabled": False}
    try:
        parsed = phonenumbers.parse(raw, settings.room_telephony_default_country)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"ROOM_TELEPHONY_PHONE_NUMBER {raw!r} cannot be read: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(
            f"ROOM_TELEPHONY_PHONE_NUMBER {raw!r} is not a possible phone number "
            f"(read with ROOM_TELEPHONY_DEFAULT_COUNTRY={settings.room_telephony_default_country})"
        )
    return {
        "enabled": True,
        "default_country": phonenumbers.region_code_for_number(parsed),
        "international_phone_number": phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
    }
