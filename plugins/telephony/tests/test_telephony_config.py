"""The ``telephony`` key of ``GET /api/v1.0/config/`` (services.md §4.3) and start-up checks."""

from __future__ import annotations

import pytest

from meet_core.testing import SettingsError, create_app
from meet_telephony import TelephonyPlugin

CONFIG = "/api/v1.0/config/"


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        ("0123456789", "FR", {"default_country": "FR", "international_phone_number": "+33 1 23 45 67 89"}),
        ("2025550123", "US", {"default_country": "US", "international_phone_number": "+1 202-555-0123"}),
        ("030 1234567", "de", {"default_country": "DE", "international_phone_number": "+49 30 1234567"}),
        # An international number keeps its own region whatever the default country.
        ("+442079460958", "US", {"default_country": "GB", "international_phone_number": "+44 20 7946 0958"}),
    ],
)
async def test_phone_number_is_formatted(kit, number, country, expected):
    meet = await kit.app(ROOM_TELEPHONY_PHONE_NUMBER=number, ROOM_TELEPHONY_DEFAULT_COUNTRY=country)
    body = (await meet.client.get(CONFIG)).json()
    assert body["telephony"] == {"enabled": True, **expected}


async def test_without_a_number_telephony_is_off_for_the_frontend(kit):
    meet = await kit.app()
    body = (await meet.client.get(CONFIG)).json()
    assert body["telephony"] == {"enabled": False}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROOM_TELEPHONY_PHONE_NUMBER": "call us"}, "ROOM_TELEPHONY_PHONE_NUMBER 'call us' cannot be read"),
        ({"ROOM_TELEPHONY_PHONE_NUMBER": "12", "ROOM_TELEPHONY_DEFAULT_COUNTRY": "FR"}, "not a possible"),
        ({"ROOM_TELEPHONY_DEFAULT_COUNTRY": "ZZ"}, "ROOM_TELEPHONY_DEFAULT_COUNTRY 'ZZ'"),
        ({"ROOM_TELEPHONY_PHONE_NUMBER": "0123456789", "ROOM_TELEPHONY_DEFAULT_COUNTRY": "France"}, "France"),
    ],
)
def test_a_bad_number_or_country_stops_the_start_up(meet_env, env, message):
    with pytest.raises(SettingsError, match=message):
        create_app(env={**meet_env, **env}, plugins=[TelephonyPlugin])
